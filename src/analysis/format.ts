/**
 * Small pure formatters shared by the analysis report: ISO 8601 timestamps from
 * integer microseconds (by calendar arithmetic, so the layer never touches the clock),
 * seconds with microsecond precision, endpoints and SPIs.
 */
import { formatEndpoint, formatIp, toHex, type Endpoint, type IpAddress } from '../core/index.ts';
import { US_PER_S, type Micros } from '../core/time.ts';

/** Days since 1970-01-01 → [year, month 1-12, day 1-31] (proleptic Gregorian). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2026-11-25T03:00:55.123456Z" for microseconds since the epoch. */
export function isoTime(us: Micros): string {
  const secs = Math.floor(us / US_PER_S);
  const frac = us - secs * US_PER_S;
  const days = Math.floor(secs / 86400);
  const rem = secs - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const h = Math.floor(rem / 3600);
  const mi = Math.floor((rem % 3600) / 60);
  const s = rem % 60;
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(frac, 6)}Z`;
}

/** Microseconds as seconds, rounded to the microsecond. */
export function secondsOf(us: Micros): number {
  return Math.round(us) / US_PER_S;
}

export function endpointText(e: Endpoint): string {
  return formatEndpoint(e);
}

export function addressText(a: IpAddress): string {
  return formatIp(a);
}

export function spiHex(spi: Uint8Array): string {
  return toHex(spi);
}

export function spi32Hex(spi: number): string {
  return (spi >>> 0).toString(16).padStart(8, '0');
}
