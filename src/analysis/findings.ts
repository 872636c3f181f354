/**
 * Finding codes: stable identifiers a CI check can rely on (docs/report-json.md lists
 * each with its meaning). Messages may be reworded; codes may not.
 */
import type { Finding, Severity } from './report.ts';

export const FINDING = {
  CAPTURE_TRUNCATED: 'CAPTURE_TRUNCATED',
  DECODE_ERRORS: 'DECODE_ERRORS',
  IKE_MALFORMED: 'IKE_MALFORMED',
  NAT_DETECTED: 'NAT_DETECTED',
  NO_NAT_DETECTED: 'NO_NAT_DETECTED',
  NO_NAT_DETECTION: 'NO_NAT_DETECTION',
  NATD_FAKE_SOURCE: 'NATD_FAKE_SOURCE',
  NATD_INCONSISTENT: 'NATD_INCONSISTENT',
  STARTED_ON_4500: 'STARTED_ON_4500',
  FLOAT_MISSING: 'FLOAT_MISSING',
  FLOAT_WITHOUT_NAT: 'FLOAT_WITHOUT_NAT',
  MARKER_MISSING: 'MARKER_MISSING',
  MARKER_ON_500: 'MARKER_ON_500',
  KEEPALIVE_ON_500: 'KEEPALIVE_ON_500',
  IKE_IP_FRAGMENTED: 'IKE_IP_FRAGMENTED',
  IKE_FRAGMENTED_UNANSWERED: 'IKE_FRAGMENTED_UNANSWERED',
  IP_FRAGMENTS_INCOMPLETE: 'IP_FRAGMENTS_INCOMPLETE',
  IKE_FRAGMENTS_INCOMPLETE: 'IKE_FRAGMENTS_INCOMPLETE',
  RETRANSMITTED_UNANSWERED: 'RETRANSMITTED_UNANSWERED',
  RETRANSMISSIONS: 'RETRANSMISSIONS',
  KEEPALIVE_INTERVAL_TOO_LONG: 'KEEPALIVE_INTERVAL_TOO_LONG',
  NAT_MAPPING_MAY_EXPIRE: 'NAT_MAPPING_MAY_EXPIRE',
  KEEPALIVE_FROM_NON_NAT_SIDE: 'KEEPALIVE_FROM_NON_NAT_SIDE',
  ESP_RAW_BEHIND_NAT: 'ESP_RAW_BEHIND_NAT',
  ESP_UDP_WITHOUT_NAT: 'ESP_UDP_WITHOUT_NAT',
  ESP_SEQUENCE_GAP: 'ESP_SEQUENCE_GAP',
  ESP_REPLAY: 'ESP_REPLAY',
  ESP_ICV_FAILED: 'ESP_ICV_FAILED',
  ESP_NO_KEY: 'ESP_NO_KEY',
  IKE_ICV_FAILED: 'IKE_ICV_FAILED',
  IKE_DECRYPT_FAILED: 'IKE_DECRYPT_FAILED',
  IKE_NO_KEY: 'IKE_NO_KEY',
  KEYS_UNUSABLE: 'KEYS_UNUSABLE',
  TRACKING_LIMIT: 'TRACKING_LIMIT',
} as const;
export type FindingCode = (typeof FINDING)[keyof typeof FINDING];

export const MAX_FINDING_FRAMES = 32;

export interface FindingInput {
  readonly severity: Severity;
  readonly code: FindingCode;
  readonly message: string;
  readonly capture?: number | null;
  readonly frames?: readonly number[];
  readonly ikeSa?: number | null;
  readonly espSpi?: string | null;
}

export function finding(f: FindingInput): Finding {
  const frames = [...new Set(f.frames ?? [])].sort((a, b) => a - b).slice(0, MAX_FINDING_FRAMES);
  return {
    severity: f.severity,
    code: f.code,
    message: f.message,
    capture: f.capture ?? null,
    frames,
    ikeSa: f.ikeSa ?? null,
    espSpi: f.espSpi ?? null,
  };
}

const ORDER: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then infos; stable within a severity. */
export function sortFindings(list: readonly Finding[]): Finding[] {
  return list
    .map((f, i) => [f, i] as const)
    .sort((a, b) => ORDER[a[0].severity] - ORDER[b[0].severity] || a[1] - b[1])
    .map(([f]) => f);
}
