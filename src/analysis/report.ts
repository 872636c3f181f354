/**
 * The analysis report: the JSON contract of `natt-sim analyze --json` and the value
 * `natt-sim verify` checks. Every field is documented in docs/report-json.md; the JSON
 * Schema (docs/report.schema.json) is generated from report-schema.ts and a test keeps
 * the two identical. Adding a field is a compatible change; renaming or removing one
 * bumps REPORT_SCHEMA_VERSION.
 *
 * Conventions: endpoints are "address:port" strings ("[v6]:port" for IPv6), raw-ESP
 * endpoints are bare addresses; SPIs are lower-case hex (16 digits for IKE, 8 for ESP);
 * times are ISO 8601 UTC with microseconds; durations are seconds (numbers, µs precision);
 * `capture` is an index into `captures[]`; `frame` is the 1-based frame number in that file.
 */

export const REPORT_SCHEMA_VERSION = 1;

export const SEVERITY = { INFO: 'info', WARNING: 'warning', ERROR: 'error' } as const;
export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

export const ROLE = { INITIATOR: 'initiator', RESPONDER: 'responder' } as const;
export type Role = (typeof ROLE)[keyof typeof ROLE];

export interface TruncationReport {
  /** Absolute file offset of the field where the file ends or turns invalid. */
  readonly offset: number;
  readonly reason: string;
}

export interface CaptureCounts {
  /** IKE messages (v1 and v2), after IP reassembly. */
  readonly ike: number;
  /** ESP packets, raw and UDP-encapsulated. */
  readonly esp: number;
  /** NAT-keepalives (one 0xFF byte). */
  readonly keepalives: number;
  /** Frames that were IP fragments held for reassembly. */
  readonly ipFragments: number;
  /** Frames that failed to decode at some layer. */
  readonly malformed: number;
  /** Everything else (ARP, other IP traffic, other UDP). */
  readonly other: number;
}

export interface CaptureReport {
  readonly index: number;
  /** The file name as given on the command line (or the name of the source). */
  readonly file: string;
  readonly format: 'pcap' | 'pcapng' | null;
  /** LINKTYPE_* values of the interfaces, in order of appearance, without duplicates. */
  readonly linktypes: readonly number[];
  readonly packets: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  readonly durationS: number | null;
  readonly counts: CaptureCounts;
  /** Present when the file ends inside a record or turns invalid; everything before was analysed. */
  readonly truncated?: TruncationReport;
}

export interface EndpointSets {
  /** Endpoints used on the IKE port (either port 500). */
  readonly on500: readonly string[];
  /** Endpoints used on the NAT-T port pair (neither port 500). */
  readonly on4500: readonly string[];
}

export const NATD_STATUS = {
  /** The hash equals the hash of the packet's own address:port. */
  MATCH: 'match',
  /** DESTINATION only: differs from the packet's destination: the receiver's address was translated. */
  MISMATCH: 'mismatch',
  /** SOURCE only: matches another address:port of the sender seen in the capture(s): the sender was translated. */
  TRANSLATED: 'translated',
  /** SOURCE only: matches nothing seen, and the capture shows the sender's address being translated. */
  UNVERIFIED: 'unverified',
  /** SOURCE only: matches nothing seen although the sender's real address is in view or nothing was translated. */
  FAKE: 'fake',
} as const;
export type NatdStatus = (typeof NATD_STATUS)[keyof typeof NATD_STATUS];

export type NatdAlgorithmName = 'MD5' | 'SHA1' | 'SHA2-256' | 'SHA2-384' | 'SHA2-512';

export interface NatdHashReport {
  readonly capture: number;
  readonly frame: number;
  /** "IKE_SA_INIT request", "INFORMATIONAL request", "Identity Protection (Main Mode) from initiator". */
  readonly message: string;
  readonly sender: Role;
  readonly kind: 'source' | 'destination';
  /** The payload that carried it: "N(NAT_DETECTION_SOURCE_IP)", "NAT-D (20)", "NAT-D (130)", "NAT-D (15)". */
  readonly carrier: string;
  /** True when it was read from a decrypted SK payload (e.g. MOBIKE UPDATE_SA_ADDRESSES). */
  readonly encrypted: boolean;
  readonly algorithm: NatdAlgorithmName;
  /** The hash as carried, hex. */
  readonly hash: string;
  /** The packet that carried it, as observed. */
  readonly packet: { readonly src: string; readonly dst: string };
  /** What a genuine hash would be: inputs taken from the packet's header (src for SOURCE, dst for DESTINATION). */
  readonly expected: {
    readonly spiI: string;
    readonly spiR: string;
    readonly endpoint: string;
    /** SPIi | SPIr | IP | port, hex (strongSwan's natd_chunk). */
    readonly input: string;
    readonly hash: string;
  };
  readonly matches: boolean;
  /** The observed endpoint whose hash equals the carried one, or null. */
  readonly matchedEndpoint: string | null;
  readonly status: NatdStatus;
  readonly explanation: string;
}

export interface NatDetectionReport {
  /** False when the hashes contradict each other (both peers' DESTINATION hashes fail in one capture): the verdict is unreliable. */
  readonly consistent: boolean;
  /** null when no NAT-D hash was seen for this SA. */
  readonly initiatorBehindNat: boolean | null;
  readonly responderBehindNat: boolean | null;
  /** Some SOURCE hash is fake: a peer forces UDP encapsulation. */
  readonly fake: boolean;
  readonly fakeSenders: readonly Role[];
  readonly hashAlgorithm: NatdAlgorithmName | null;
  readonly hashes: readonly NatdHashReport[];
  /** Hashes beyond the per-SA limit, not evaluated. */
  readonly hashesOmitted: number;
  /** Plain sentences: how the verdict follows from the hashes. */
  readonly explanation: readonly string[];
}

export interface KeepaliveReport {
  /** The side that sent them, or null when the flow belongs to no known IKE SA. */
  readonly from: Role | null;
  readonly endpoint: string;
  readonly to: string;
  readonly capture: number;
  readonly count: number;
  readonly meanIntervalS: number | null;
  readonly maxIntervalS: number | null;
  readonly minIntervalS: number | null;
  readonly firstTime: string;
  readonly lastTime: string;
  readonly frames: readonly number[];
}

export interface MessageRef {
  /** Exchange name, e.g. "IKE_AUTH". */
  readonly exchange: string;
  readonly messageId: number;
  readonly response: boolean;
  readonly sender: Role | null;
  readonly capture: number;
  readonly frame: number;
}

export interface RequestReport {
  readonly message: string;
  readonly messageId: number;
  readonly sender: Role | null;
  readonly capture: number;
  /** The first transmission and each identical retransmission (up to 16). */
  readonly frames: readonly number[];
  readonly retransmissions: number;
  readonly answered: boolean;
  readonly ipFragmented: boolean;
}

export interface ChildSaReport {
  readonly exchange: string;
  readonly messageId: number;
  readonly capture: number;
  readonly frame: number;
  readonly protocol: 'ESP' | 'AH';
  /** SPI the IKE initiator chose (its inbound SPI: packets with it go responder → initiator). */
  readonly initiatorSpi: string | null;
  /** SPI the IKE responder chose (packets with it go initiator → responder). */
  readonly responderSpi: string | null;
  /** The accepted proposal, e.g. "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
  readonly proposal: string | null;
  readonly tsi: readonly string[];
  readonly tsr: readonly string[];
}

export interface DecryptedMessageReport {
  readonly capture: number;
  readonly frame: number;
  readonly exchange: string;
  readonly messageId: number;
  readonly response: boolean;
  readonly sender: Role;
  /** 'failed' when the ICV did not verify but CBC decryption still produced a readable chain. */
  readonly integrity: 'ok' | 'failed';
  /** Inner payloads in order: "IDi", "AUTH", "SA", "TSi", "N(INITIAL_CONTACT)", ... */
  readonly payloads: readonly string[];
  /** RFC 7383: number of SKF fragments it was reassembled from (absent for SK). */
  readonly fragments?: number;
}

export interface IkeDecryptionReport {
  readonly decrypted: number;
  readonly integrityFailed: number;
  readonly failed: number;
  /** Encrypted messages of this SA for which no key row exists. */
  readonly noKey: number;
}

export interface IkeSaReport {
  readonly index: number;
  readonly version: 1 | 2;
  readonly spiI: string;
  /** All zeros until the responder's SPI (cookie) is seen. */
  readonly spiR: string;
  /** Address:port of each side as first seen. */
  readonly initiator: string | null;
  readonly responder: string | null;
  readonly initiatorEndpoints: EndpointSets;
  readonly responderEndpoints: EndpointSets;
  readonly captures: readonly number[];
  readonly firstFrame: { readonly capture: number; readonly frame: number };
  readonly firstTime: string;
  readonly lastTime: string;
  /** IKE messages, retransmissions excluded (largest count over the captures). */
  readonly messages: number;
  /** "<EXCHANGE> request|response" (IKEv2) or "<exchange> from initiator|responder" (IKEv1) → count. */
  readonly exchanges: Readonly<Record<string, number>>;
  readonly retransmissions: number;
  readonly retransmitted: readonly RequestReport[];
  readonly unanswered: readonly RequestReport[];
  readonly natDetection: NatDetectionReport;
  /** The first message of the SA was already on the NAT-T port pair. */
  readonly startedOn4500: boolean;
  /** Started on port 500, later used the NAT-T port pair. */
  readonly floatedTo4500: boolean;
  readonly firstMessageOn4500: string | null;
  readonly firstMessageOn4500Detail: MessageRef | null;
  readonly marker: {
    /** IKE on the NAT-T pair with the non-ESP marker. */
    readonly ok: number;
    /** IKE on the NAT-T pair without the marker. */
    readonly missing: number;
    /** The marker on port 500, where it must not be. */
    readonly on500: number;
  };
  readonly ipFragmentedMessages: number;
  readonly ikeFragmentation: {
    readonly supportedBy: readonly Role[];
    readonly messages: number;
    readonly fragments: number;
    readonly reassembled: number;
    readonly incomplete: number;
  };
  readonly keepalives: readonly KeepaliveReport[];
  /** null when no keys were given. */
  readonly decryption: IkeDecryptionReport | null;
  readonly ids: { readonly initiator: string | null; readonly responder: string | null };
  readonly childSas: readonly ChildSaReport[];
  readonly decryptedMessages: readonly DecryptedMessageReport[];
  readonly decryptedMessagesOmitted: number;
  /** Messages whose payloads failed to decode. */
  readonly malformed: number;
}

export interface EspDecryptionReport {
  readonly ok: number;
  readonly icvFailed: number;
  readonly failed: number;
  /** Inner packet summary ("ICMP echo request 10.77.10.1 → 10.77.20.1") → count; at most 16 keys plus "other". */
  readonly inner: Readonly<Record<string, number>>;
}

export interface EspSaReport {
  readonly spi: string;
  readonly capture: number;
  readonly encapsulation: 'udp' | 'none';
  readonly src: string;
  readonly dst: string;
  readonly packets: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly maxSeq: number;
  /** Sequence numbers between the smallest and largest seen that never arrived. */
  readonly gaps: number;
  /** Packets whose sequence number was already seen (within a 1024-packet window). */
  readonly replays: number;
  /** Packets older than the window: neither counted as new nor as replays. */
  readonly outOfWindow: number;
  /** The packet's src endpoint changed this many times after the first. */
  readonly endpointChanges: number;
  readonly firstTime: string;
  readonly lastTime: string;
  readonly ikeSa: number | null;
  readonly direction: 'initiator-to-responder' | 'responder-to-initiator' | null;
  readonly childSa: { readonly ikeSa: number; readonly exchange: string; readonly messageId: number; readonly chosenBy: Role } | null;
  /** null when no key row covers this SPI. */
  readonly decrypted: EspDecryptionReport | null;
}

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier, e.g. "NAT_KEEPALIVE_INTERVAL_TOO_LONG" (see docs/report-json.md). */
  readonly code: string;
  readonly message: string;
  /** Capture the frames belong to, null when not tied to frames. */
  readonly capture: number | null;
  /** Frame numbers in that capture (at most 32). */
  readonly frames: readonly number[];
  readonly ikeSa: number | null;
  readonly espSpi: string | null;
}

export interface AnalysisReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly options: {
    readonly natTimeoutS: number;
    /** Key rows loaded, or null without --keys. */
    readonly keys: { readonly ikeSas: number; readonly espSas: number } | null;
  };
  readonly captures: readonly CaptureReport[];
  readonly ikeSas: readonly IkeSaReport[];
  readonly espSas: readonly EspSaReport[];
  /** Keepalive flows that belong to no IKE SA seen in the capture. */
  readonly unattachedKeepalives: readonly KeepaliveReport[];
  readonly findings: readonly Finding[];
  readonly summary: {
    readonly ikeSas: number;
    readonly espSas: number;
    readonly errors: number;
    readonly warnings: number;
    readonly infos: number;
  };
}
