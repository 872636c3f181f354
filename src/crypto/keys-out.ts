/**
 * Key export in the formats other tools read:
 *  - Wireshark 4.0 UAT rows: `ikev2_decryption_table`
 *      SPIi,SPIr,SK_ei,SK_er,"<encryption>",SK_ai,SK_ar,"<integrity>"
 *    and `esp_sa`
 *      "IPv4","<src|*>","<dst|*>","0x<SPI>","<encryption>","0x<key>","<authentication>","0x<key>"
 *    with parsers for both (the analyser reads the same files);
 *  - a charon-style level-4 key dump (the `Sk_ei secret => 20 bytes @ ...` lines).
 */
import { toHex } from '../core/index.ts';
import { IntegId, type EncrId } from './algorithms.ts';
import type { ChildSaKeys, IkeSaKeys } from './prf.ts';
import {
  espAuthFromWiresharkLabel,
  espEncrFromWiresharkLabel,
  espSuiteName,
  ikeSuiteName,
  ikev2EncrFromWiresharkLabel,
  ikev2IntegFromWiresharkLabel,
  wiresharkEspAuthLabel,
  wiresharkEspEncrLabel,
  wiresharkIkev2EncrLabel,
  wiresharkIkev2IntegLabel,
  type EspSuite,
  type IkeSuite,
} from './proposals.ts';

// ---- rows ----

export interface Ikev2DecryptionRow {
  /** 8-byte SPIs. */
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  /** With the 4-byte salt for AES-GCM. */
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  /** e.g. "AES-GCM-128 with 16 octet ICV [RFC5282]". */
  readonly encrLabel: string;
  /** Empty for AEAD. */
  readonly skAi: Uint8Array;
  readonly skAr: Uint8Array;
  /** e.g. "NONE [RFC4306]". */
  readonly integLabel: string;
}

export type IpFamilyLabel = 'IPv4' | 'IPv6';

export interface EspSaRow {
  readonly family: IpFamilyLabel;
  /** Address text or "*". */
  readonly src: string;
  readonly dst: string;
  /** 32-bit SPI. */
  readonly spi: number;
  /** e.g. "AES-GCM with 16 octet ICV [RFC4106]". */
  readonly encrLabel: string;
  /** Key (‖ salt for AES-GCM); empty for NULL. */
  readonly key: Uint8Array;
  /** e.g. "NULL", "HMAC-SHA-256-128 [RFC4868]". */
  readonly authLabel: string;
  /** Empty for AEAD. */
  readonly authKey: Uint8Array;
}

/** A UAT string field: quoted, with `"`, `\` and non-printable bytes as \xNN (Wireshark's uat_esc). */
function quote(s: string): string {
  if (/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c > 0x7e || ch === '"' || ch === '\\') {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** One ikev2_decryption_table line (no newline). */
export function ikev2DecryptionRow(r: Ikev2DecryptionRow): string {
  return [
    toHex(r.spiI),
    toHex(r.spiR),
    toHex(r.skEi),
    toHex(r.skEr),
    quote(r.encrLabel),
    toHex(r.skAi),
    toHex(r.skAr),
    quote(r.integLabel),
  ].join(',');
}

function hexKey(k: Uint8Array): string {
  return k.length === 0 ? '' : `0x${toHex(k)}`;
}

/** One esp_sa line (no newline). */
export function espSaRow(r: EspSaRow): string {
  return [
    quote(r.family),
    quote(r.src),
    quote(r.dst),
    quote(`0x${(r.spi >>> 0).toString(16).padStart(8, '0')}`),
    quote(r.encrLabel),
    quote(hexKey(r.key)),
    quote(r.authLabel),
    quote(hexKey(r.authKey)),
  ].join(',');
}

/** The ikev2_decryption_table row of an IKE SA. */
export function ikev2RowFor(spiI: Uint8Array, spiR: Uint8Array, suite: IkeSuite, keys: IkeSaKeys): Ikev2DecryptionRow {
  return {
    spiI,
    spiR,
    skEi: keys.skEi,
    skEr: keys.skEr,
    encrLabel: wiresharkIkev2EncrLabel(suite),
    skAi: keys.skAi,
    skAr: keys.skAr,
    integLabel: wiresharkIkev2IntegLabel(suite.integ),
  };
}

/** The esp_sa row of one direction of a CHILD_SA. */
export function espSaRowFor(
  spi: number,
  suite: EspSuite,
  key: Uint8Array,
  authKey: Uint8Array,
  where: { family?: IpFamilyLabel; src?: string; dst?: string } = {},
): EspSaRow {
  return {
    family: where.family ?? 'IPv4',
    src: where.src ?? '*',
    dst: where.dst ?? '*',
    spi,
    encrLabel: wiresharkEspEncrLabel(suite.encr),
    key,
    authLabel: wiresharkEspAuthLabel(suite.integ),
    authKey,
  };
}

/** A whole UAT file: a comment header naming the fields, then one row per line. */
export function ikev2DecryptionTable(rows: readonly Ikev2DecryptionRow[]): string {
  return ['# Wireshark 4.0 UAT: SPIi,SPIr,SK_ei,SK_er,encr alg,SK_ai,SK_ar,integ alg', ...rows.map(ikev2DecryptionRow)].join('\n') + '\n';
}

export function espSaTable(rows: readonly EspSaRow[]): string {
  return ['# Wireshark 4.0 UAT: protocol,src,dst,SPI,encr alg,encr key,auth alg,auth key', ...rows.map(espSaRow)].join('\n') + '\n';
}

// ---- parsers ----

export class UatParseError extends Error {
  override readonly name = 'UatParseError';
  constructor(
    /** 1-based line number. */
    readonly line: number,
    /** Field name, e.g. "SK_ei". */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`line ${line}, field ${field}: ${reason}`);
  }
}

interface RawField {
  readonly text: string;
  readonly quoted: boolean;
}

function splitUatLine(line: string, lineNo: number, names: readonly string[]): RawField[] {
  const fields: RawField[] = [];
  let i = 0;
  const name = () => names[fields.length] ?? `field ${fields.length + 1}`;
  for (;;) {
    if (line[i] === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new UatParseError(lineNo, name(), 'unterminated quoted string');
        const c = line[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const m = /^x([0-9a-fA-F]{2})/.exec(line.slice(i + 1));
          if (m) {
            text += String.fromCharCode(parseInt(m[1]!, 16));
            i += 4;
            continue;
          }
          if (i + 1 < line.length) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          throw new UatParseError(lineNo, name(), 'dangling backslash');
        }
        text += c;
        i++;
      }
      fields.push({ text, quoted: true });
      if (i < line.length && line[i] !== ',') throw new UatParseError(lineNo, names[fields.length - 1] ?? 'field', 'text after the closing quote');
    } else {
      const end = line.indexOf(',', i);
      const text = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      fields.push({ text, quoted: false });
      i = end < 0 ? line.length : end;
    }
    if (i >= line.length) break;
    i++; // the comma
  }
  if (fields.length !== names.length) {
    throw new UatParseError(lineNo, names[Math.min(fields.length, names.length - 1)]!, `expected ${names.length} fields, found ${fields.length}`);
  }
  return fields;
}

function parseHex(text: string, lineNo: number, field: string, opts: { prefix: boolean; length?: number }): Uint8Array {
  let t = text;
  if (opts.prefix && t !== '') {
    if (!/^0[xX]/.test(t)) throw new UatParseError(lineNo, field, `expected 0x-prefixed hex, got "${text}"`);
    t = t.slice(2);
  }
  if (!/^([0-9a-fA-F]{2})*$/.test(t)) throw new UatParseError(lineNo, field, `not an even number of hex digits: "${text}"`);
  if (opts.length !== undefined && t.length !== opts.length * 2) {
    throw new UatParseError(lineNo, field, `expected ${opts.length} bytes, got ${t.length / 2}`);
  }
  return new Uint8Array(Buffer.from(t, 'hex'));
}

function contentLines(text: string): Array<{ line: string; lineNo: number }> {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), lineNo: i + 1 }))
    .filter((l) => l.line !== '' && !l.line.startsWith('#'));
}

const IKEV2_FIELDS = ['SPIi', 'SPIr', 'SK_ei', 'SK_er', 'encryption', 'SK_ai', 'SK_ar', 'integrity'] as const;
const ESP_FIELDS = ['protocol', 'src', 'dst', 'SPI', 'encryption', 'encryption key', 'authentication', 'authentication key'] as const;

export interface ParsedIkev2Row extends Ikev2DecryptionRow {
  readonly line: number;
  /** The algorithm behind encrLabel, when this code implements it. */
  readonly encr?: { readonly encr: EncrId; readonly keyBits: number };
  readonly integ?: IntegId;
}

export interface ParsedEspSaRow extends EspSaRow {
  readonly line: number;
  readonly encr?: EncrId;
  readonly integ?: IntegId;
}

/** Parses an ikev2_decryption_table file; `#` lines and blank lines are skipped. */
export function parseIkev2DecryptionTable(text: string): ParsedIkev2Row[] {
  return contentLines(text).map(({ line, lineNo }) => {
    const f = splitUatLine(line, lineNo, IKEV2_FIELDS);
    const hex = (i: number, length?: number) => {
      if (f[i]!.quoted) throw new UatParseError(lineNo, IKEV2_FIELDS[i]!, 'hex field must not be quoted');
      return parseHex(f[i]!.text, lineNo, IKEV2_FIELDS[i]!, length === undefined ? { prefix: false } : { prefix: false, length });
    };
    const label = (i: number) => {
      if (!f[i]!.quoted) throw new UatParseError(lineNo, IKEV2_FIELDS[i]!, 'algorithm label must be quoted');
      return f[i]!.text;
    };
    const encrLabel = label(4);
    const integLabel = label(7);
    const encr = ikev2EncrFromWiresharkLabel(encrLabel);
    const integ = ikev2IntegFromWiresharkLabel(integLabel);
    return {
      line: lineNo,
      spiI: hex(0, 8),
      spiR: hex(1, 8),
      skEi: hex(2),
      skEr: hex(3),
      encrLabel,
      skAi: hex(5),
      skAr: hex(6),
      integLabel,
      ...(encr ? { encr } : {}),
      ...(integ !== undefined ? { integ } : {}),
    };
  });
}

/** Parses an esp_sa file; `#` lines and blank lines are skipped. */
export function parseEspSaTable(text: string): ParsedEspSaRow[] {
  return contentLines(text).map(({ line, lineNo }) => {
    const f = splitUatLine(line, lineNo, ESP_FIELDS);
    for (let i = 0; i < ESP_FIELDS.length; i++) {
      if (!f[i]!.quoted) throw new UatParseError(lineNo, ESP_FIELDS[i]!, 'esp_sa fields must be quoted');
    }
    const family = f[0]!.text;
    if (family !== 'IPv4' && family !== 'IPv6') throw new UatParseError(lineNo, 'protocol', `expected "IPv4" or "IPv6", got "${family}"`);
    const spiText = f[3]!.text;
    if (!/^0[xX][0-9a-fA-F]{1,8}$/.test(spiText)) throw new UatParseError(lineNo, 'SPI', `expected 0x followed by up to 8 hex digits, got "${spiText}"`);
    const encrLabel = f[4]!.text;
    const authLabel = f[6]!.text;
    const encr = espEncrFromWiresharkLabel(encrLabel);
    const integ = espAuthFromWiresharkLabel(authLabel);
    return {
      line: lineNo,
      family,
      src: f[1]!.text,
      dst: f[2]!.text,
      spi: parseInt(spiText.slice(2), 16),
      encrLabel,
      key: parseHex(f[5]!.text, lineNo, 'encryption key', { prefix: true }),
      authLabel,
      authKey: parseHex(f[7]!.text, lineNo, 'authentication key', { prefix: true }),
      ...(encr !== undefined ? { encr } : {}),
      ...(integ !== undefined ? { integ } : {}),
    };
  });
}

// ---- charon-style key dump ----

export interface KeyLogOptions {
  /** Put before every line, e.g. a timestamp "2026-11-25T03:00:14.473 ". */
  readonly linePrefix?: string;
  /** charon thread number column (default "00"). */
  readonly thread?: string;
}

/**
 * charon's %B chunk dump: "<label> => N bytes @ 0x0" then 16 bytes per line as
 * "%4d: " offset, upper-case hex pairs, two spaces, printable ASCII or '.'.
 */
export function charonHexDump(label: string, bytes: Uint8Array): string[] {
  const lines = [`${label} => ${bytes.length} bytes @ 0x0`];
  for (let o = 0; o < bytes.length; o += 16) {
    const end = Math.min(o + 16, bytes.length);
    let hex = '';
    let ascii = '';
    for (let i = o; i < end; i++) {
      const b = bytes[i]!;
      hex += i === o ? HEX_UPPER[b]! : ` ${HEX_UPPER[b]!}`;
      ascii += PRINTABLE[b]!;
    }
    lines.push(`${String(o).padStart(4, ' ')}: ${hex.padEnd(47, ' ')}  ${ascii}`);
  }
  return lines;
}

const HEX_UPPER = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));
const PRINTABLE = Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.'));

export interface IkeKeyLogEntry {
  /** Connection name and unique id: the "<lab|1>" tag. */
  readonly conn: string;
  readonly unique: number;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly suite: IkeSuite;
  readonly keys: IkeSaKeys;
}

export interface ChildKeyLogEntry {
  readonly conn: string;
  readonly unique: number;
  /** CHILD_SA name and unique id: "net{1}". */
  readonly child: string;
  readonly childUnique: number;
  readonly suite: EspSuite;
  readonly keys: ChildSaKeys;
  /** Inbound and outbound SPIs from this side's view. */
  readonly spiIn: number;
  readonly spiOut: number;
  /** Traffic selectors as text, e.g. "10.77.10.0/24". */
  readonly tsLocal: string;
  readonly tsRemote: string;
}

function spi32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

/** Key dump of an IKE SA as charon logs it with `ike = 4` and `mgr = 2`. */
export function charonIkeKeyLog(e: IkeKeyLogEntry, opts: KeyLogOptions = {}): string {
  const tag = `<${e.conn}|${e.unique}>`;
  const line = (group: string, text: string) => `${opts.linePrefix ?? ''}${opts.thread ?? '00'}[${group}] ${tag} ${text}`;
  const out = [line('CFG', `selected proposal: ${ikeSuiteName(e.suite)}`)];
  const dumps: Array<[string, Uint8Array]> = [['Sk_d secret', e.keys.skD]];
  if (e.suite.integ !== IntegId.NONE) dumps.push(['Sk_ai secret', e.keys.skAi], ['Sk_ar secret', e.keys.skAr]);
  dumps.push(['Sk_ei secret', e.keys.skEi], ['Sk_er secret', e.keys.skEr], ['Sk_pi secret', e.keys.skPi], ['Sk_pr secret', e.keys.skPr]);
  for (const [label, bytes] of dumps) for (const l of charonHexDump(label, bytes)) out.push(line('IKE', l));
  out.push(line('MGR', `checkin IKEv2 SA ${e.conn}[${e.unique}] with SPIs ${toHex(e.spiI)}_i ${toHex(e.spiR)}_r`));
  return out.join('\n') + '\n';
}

/** Key dump of a CHILD_SA as charon logs it with `chd = 4`. */
export function charonChildKeyLog(e: ChildKeyLogEntry, opts: KeyLogOptions = {}): string {
  const tag = `<${e.conn}|${e.unique}>`;
  const line = (group: string, text: string) => `${opts.linePrefix ?? ''}${opts.thread ?? '00'}[${group}] ${tag} ${text}`;
  const out = [line('CFG', `selected proposal: ${espSuiteName(e.suite)}`)];
  const dumps: Array<[string, Uint8Array]> = [
    ['encryption initiator key', e.keys.encrI],
    ['encryption responder key', e.keys.encrR],
  ];
  if (e.suite.integ !== IntegId.NONE) dumps.push(['integrity initiator key', e.keys.integI], ['integrity responder key', e.keys.integR]);
  for (const [label, bytes] of dumps) for (const l of charonHexDump(label, bytes)) out.push(line('CHD', l));
  out.push(
    line(
      'IKE',
      `CHILD_SA ${e.child}{${e.childUnique}} established with SPIs ${spi32(e.spiIn)}_i ${spi32(e.spiOut)}_o and TS ${e.tsLocal} === ${e.tsRemote}`,
    ),
  );
  return out.join('\n') + '\n';
}
