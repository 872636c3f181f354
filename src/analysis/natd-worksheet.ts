/**
 * A NAT-D hash laid out for checking by hand: the labelled input fields, the bytes
 * that are hashed, the hash, and a shell pipeline that computes the same value.
 *
 *   IKEv2 (RFC 7296 §2.23):  SHA-1(SPIi | SPIr | IP | port)
 *   IKEv1 (RFC 3947 §3.2):   HASH(CKY-I | CKY-R | IP | port), HASH negotiated in phase 1
 *
 * Used by `natt-sim natd` and by the explain narrative, so that both print the same
 * worksheet for the same inputs.
 */
import { formatEndpoint, formatIp, ipFromBytes, type Endpoint } from '../core/addr.ts';
import { fromHex, toHex } from '../core/bytes.ts';
import { natdHash as ikev2NatdHash, natdInput as ikev2NatdInput } from '../ikev2/natd.ts';
import { natdHash as ikev1NatdHash, natdHashInput as ikev1NatdInput } from './natd.ts';
import type { NatdAlgorithmName } from './report.ts';

export const NATD_ALGORITHMS = ['MD5', 'SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512'] as const satisfies readonly NatdAlgorithmName[];

/** The coreutils program that computes each hash. */
export const NATD_SHELL_TOOL: Readonly<Record<NatdAlgorithmName, string>> = {
  MD5: 'md5sum',
  SHA1: 'sha1sum',
  'SHA2-256': 'sha256sum',
  'SHA2-384': 'sha384sum',
  'SHA2-512': 'sha512sum',
};

/** How the RFCs write each hash. */
export const NATD_ALGORITHM_TEXT: Readonly<Record<NatdAlgorithmName, string>> = {
  MD5: 'MD5',
  SHA1: 'SHA-1',
  'SHA2-256': 'SHA-256',
  'SHA2-384': 'SHA-384',
  'SHA2-512': 'SHA-512',
};

export interface NatdField {
  /** "SPIi", "SPIr", "IP", "port" (IKEv1: "CKY-I", "CKY-R", "IP", "port"). */
  readonly name: string;
  readonly hex: string;
  /** The field in the usual notation: the SPI itself, the dotted address, the decimal port. */
  readonly value: string;
}

export interface NatdWorksheet {
  readonly version: 1 | 2;
  readonly algorithm: NatdAlgorithmName;
  readonly endpoint: string;
  readonly fields: readonly NatdField[];
  /** The hashed bytes, hex. */
  readonly input: string;
  readonly inputLength: number;
  readonly hash: string;
  /** "SHA-1(SPIi | SPIr | IP | port)" */
  readonly formula: string;
  /** printf '<input>' | xxd -r -p | sha1sum */
  readonly command: string;
}

/** The shell pipeline that hashes `inputHex` with coreutils. */
export function natdCommand(inputHex: string, algorithm: NatdAlgorithmName): string {
  return `printf '${inputHex}' | xxd -r -p | ${NATD_SHELL_TOOL[algorithm]}`;
}

function fieldNames(version: 1 | 2): readonly [string, string] {
  return version === 1 ? ['CKY-I', 'CKY-R'] : ['SPIi', 'SPIr'];
}

/**
 * Computes the worksheet. IKEv2 always hashes with SHA-1 (the engine's own function);
 * IKEv1 with the phase 1 hash.
 */
export function natdWorksheet(version: 1 | 2, algorithm: NatdAlgorithmName, spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): NatdWorksheet {
  if (version === 2 && algorithm !== 'SHA1') throw new RangeError('IKEv2 NAT-D is always SHA-1 (RFC 7296 §2.23)');
  const input = version === 2 ? ikev2NatdInput(spiI, spiR, ep) : ikev1NatdInput(spiI, spiR, ep);
  const hash = version === 2 ? ikev2NatdHash(spiI, spiR, ep) : ikev1NatdHash(algorithm, spiI, spiR, ep);
  const [nI, nR] = fieldNames(version);
  const portHex = toHex(Uint8Array.of(ep.port >> 8, ep.port & 0xff));
  const inputHex = toHex(input);
  return {
    version,
    algorithm,
    endpoint: formatEndpoint(ep),
    fields: [
      { name: nI, hex: toHex(spiI), value: toHex(spiI) },
      { name: nR, hex: toHex(spiR), value: toHex(spiR) },
      { name: 'IP', hex: toHex(ep.addr.bytes), value: formatIp(ep.addr) },
      { name: 'port', hex: portHex, value: String(ep.port) },
    ],
    input: inputHex,
    inputLength: input.length,
    hash: toHex(hash),
    formula: `${NATD_ALGORITHM_TEXT[algorithm]}(${nI} | ${nR} | IP | port)`,
    command: natdCommand(inputHex, algorithm),
  };
}

/**
 * The worksheet for an input already laid out (the report's `expected.input`):
 * 8 + 8 bytes of SPIs, 4 or 16 bytes of address, 2 of port.
 */
export function worksheetFromInput(version: 1 | 2, algorithm: NatdAlgorithmName, inputHex: string): NatdWorksheet {
  const b = fromHex(inputHex);
  if (b.length !== 22 && b.length !== 34) throw new RangeError(`a NAT-D input is 22 or 34 bytes, not ${b.length}`);
  const addr = ipFromBytes(b.subarray(16, b.length - 2));
  const port = (b[b.length - 2]! << 8) | b[b.length - 1]!;
  return natdWorksheet(version, algorithm, b.subarray(0, 8), b.subarray(8, 16), { addr, port });
}

/** "8391f754f1670e3d | 0000000000000000 | c6336401 | 72d4" */
export function labelledInput(w: NatdWorksheet): string {
  return w.fields.map((f) => f.hex).join(' | ');
}
