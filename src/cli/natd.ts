/**
 * `natt-sim natd --spi-i HEX --spi-r HEX --addr IP:PORT [--ikev1 --hash ALG] [--json]`
 *
 * Computes one NAT-D hash for the by-hand exercise: the hash, the exact bytes hashed
 * with each field labelled, and the shell pipeline that gives the same result.
 * Bad values are one line on stderr and exit 2.
 */
import type { Argv } from 'yargs';
import { AddressError, parseEndpoint, type Endpoint } from '../core/addr.ts';
import { natdWorksheet, type NatdWorksheet } from '../analysis/natd-worksheet.ts';
import type { NatdAlgorithmName } from '../analysis/report.ts';
import { registerCommand, type Io } from './main.ts';
import { CliError } from './errors.ts';

/** --hash spellings → algorithm. */
const HASH_OPTION: Readonly<Record<string, NatdAlgorithmName>> = {
  md5: 'MD5',
  sha1: 'SHA1',
  sha256: 'SHA2-256',
  sha384: 'SHA2-384',
  sha512: 'SHA2-512',
};

export interface NatdOptions {
  readonly spiI: string;
  readonly spiR: string;
  readonly addr: string;
  readonly ikev1: boolean;
  readonly hash?: string;
  readonly json: boolean;
}

/** 16 hex digits (an optional 0x in front), or 0 for an all-zero SPI. */
export function parseSpi(option: string, text: string): Uint8Array {
  const t = text.trim();
  if (t === '0') return new Uint8Array(8);
  const hex = t.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) {
    throw new CliError(`${option}: "${text}" is not an 8-byte SPI: give 16 hex digits (e.g. 8391f754f1670e3d), or 0 for the zero SPIr of a first IKE_SA_INIT request`);
  }
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function parseAddr(text: string): Endpoint {
  try {
    return parseEndpoint(text.trim());
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    throw new CliError(`--addr: "${text}" is not IP:PORT (e.g. 198.51.100.2:500 or [2001:db8::1]:4500)`);
  }
}

export function parseHashOption(text: string | undefined, ikev1: boolean): NatdAlgorithmName {
  if (text === undefined) return 'SHA1';
  const alg = HASH_OPTION[text.toLowerCase()];
  if (!alg) throw new CliError(`--hash: "${text}" is not one of ${Object.keys(HASH_OPTION).join(', ')}`);
  if (!ikev1 && alg !== 'SHA1') throw new CliError(`--hash ${text}: IKEv2 NAT-D is always SHA-1 (RFC 7296 §2.23); add --ikev1 for an IKEv1 phase 1 hash`);
  return alg;
}

export function computeNatd(o: NatdOptions): NatdWorksheet {
  const spiI = parseSpi('--spi-i', o.spiI);
  const spiR = parseSpi('--spi-r', o.spiR);
  const ep = parseAddr(o.addr);
  const alg = parseHashOption(o.hash, o.ikev1);
  return natdWorksheet(o.ikev1 ? 1 : 2, alg, spiI, spiR, ep);
}

/**
 * The text form: the formula, the input bytes split into labelled columns (hex,
 * field name, usual notation), the hash and the pipeline.
 */
export function renderWorksheet(w: NatdWorksheet): string {
  const rfc = w.version === 2 ? 'IKEv2, RFC 7296 §2.23' : 'IKEv1, RFC 3947 §3.2';
  const widths = w.fields.map((f) => Math.max(f.hex.length, f.name.length, f.value.length));
  const row = (cells: readonly string[], sep: string) => cells.map((c, i) => c.padEnd(widths[i]!)).join(sep).trimEnd();
  return [
    `NAT-D hash (${rfc}) = ${w.formula}`,
    `input  ${row(w.fields.map((f) => f.hex), ' | ')}   (${w.inputLength} bytes)`,
    `       ${row(w.fields.map((f) => f.name), '   ')}`,
    `       ${row(w.fields.map((f) => f.value), '   ')}`,
    `hash   ${w.hash}`,
    `check  ${w.command}`,
    '',
  ].join('\n');
}

export function worksheetJson(w: NatdWorksheet): object {
  return {
    version: w.version,
    algorithm: w.algorithm,
    formula: w.formula,
    endpoint: w.endpoint,
    fields: w.fields,
    input: w.input,
    hash: w.hash,
    command: w.command,
  };
}

export function runNatd(o: NatdOptions, io: Io): number {
  const w = computeNatd(o);
  io.out(o.json ? `${JSON.stringify(worksheetJson(w), null, 2)}\n` : renderWorksheet(w));
  return 0;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'natd',
    'compute a NAT-D hash by hand: the labelled input bytes, the hash and the equivalent shell pipeline',
    (c) =>
      c
        .option('spi-i', { type: 'string', demandOption: true, describe: "initiator's SPI (IKEv1: CKY-I), 16 hex digits" })
        .option('spi-r', { type: 'string', demandOption: true, describe: "responder's SPI (IKEv1: CKY-R), 16 hex digits; 0 in the first IKE_SA_INIT request" })
        .option('addr', { type: 'string', demandOption: true, describe: 'the address:port the hash covers, e.g. 198.51.100.2:500 or [2001:db8::1]:4500' })
        .option('ikev1', { type: 'boolean', default: false, describe: 'IKEv1 (RFC 3947): hash with the phase 1 hash algorithm' })
        .option('hash', { type: 'string', describe: 'the phase 1 hash, with --ikev1: md5, sha1 (default), sha256, sha384, sha512' })
        .option('json', { type: 'boolean', default: false, describe: 'the worksheet as JSON' }),
    (a) => {
      (a as { __exitCode?: number }).__exitCode = runNatd(
        {
          spiI: a['spi-i'] as string,
          spiR: a['spi-r'] as string,
          addr: a.addr as string,
          ikev1: a.ikev1 as boolean,
          ...(a.hash !== undefined ? { hash: a.hash as string } : {}),
          json: a.json as boolean,
        },
        io,
      );
    },
  ),
);
