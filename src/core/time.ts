/**
 * Time is integer microseconds everywhere. Instants end in `At`, durations in `Us`.
 * A plain number (2^53 µs is 285 years) keeps arithmetic fast; values are kept integral.
 */
export type Micros = number;

export const US_PER_MS = 1_000;
export const US_PER_S = 1_000_000;

export const seconds = (s: number): Micros => Math.round(s * US_PER_S);
export const millis = (ms: number): Micros => Math.round(ms * US_PER_MS);
export const toSeconds = (us: Micros): number => us / US_PER_S;

const UNIT: Record<string, number> = {
  us: 1,
  µs: 1,
  ms: US_PER_MS,
  s: US_PER_S,
  m: 60 * US_PER_S,
  min: 60 * US_PER_S,
  h: 3600 * US_PER_S,
  d: 86400 * US_PER_S,
};

/**
 * Parses "20s", "1.5m", "250ms", "2h", "90" (seconds). Returns undefined when the
 * text is not a duration, so the caller can name the field in its own error.
 */
export function parseDuration(text: string | number): Micros | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? seconds(text) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|min|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT[m[2] ?? 's']!);
}

/** "12.345678" seconds with microsecond precision. */
export function formatSeconds(us: Micros): string {
  const neg = us < 0;
  const a = Math.abs(us);
  const s = Math.floor(a / US_PER_S);
  const frac = String(a % US_PER_S).padStart(6, '0');
  return `${neg ? '-' : ''}${s}.${frac}`;
}
