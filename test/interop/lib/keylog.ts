/**
 * Keys from a charon filelog written with `ike = 4`, `chd = 4`, `mgr = 2` and
 * `ike_name = yes`, turned into Wireshark 4.0 `ikev2_decryption_table` and
 * `esp_sa` rows (formatted by src/crypto/keys-out.ts).
 *
 * A dump is a header line and 16-byte hex lines, all with the same thread and
 * `<conn|N>` tag (before the peer config is known the responder writes `<N>`):
 *   2026-11-25T04:26:34.911 02[IKE] <lab|1> Sk_ei secret => 20 bytes @ 0x7f111c00a5d0
 *   2026-11-25T04:26:34.911 02[IKE] <lab|1>    0: 4D 57 72 32 79 E9 62 B2 45 81 EF 52 2E 6E 2C BC  MWr2y.b.E..R.n,.
 *   2026-11-25T04:26:34.911 02[IKE] <lab|1>   16: 18 6C 3D 29                                      .l=)
 * Dumps are matched to IKE_SAs by the unique id N; SPIs come from
 * `checkin IKEv2 SA lab[1] with SPIs <spii>_i <spir>_r` (the last one with a
 * non-zero SPIr), CHILD_SA SPIs from `CHILD_SA net{1} established with SPIs <in>_i <out>_o`.
 *
 * Limitation: an IKE_SA rekey logs the new keys under the old SA's tag; the
 * lab's runs are short and never rekey, so the last key set per tag is used.
 */
import {
  EncrId,
  IntegId,
  espSaRow,
  ikev2DecryptionRow,
  wiresharkEspAuthLabel,
  wiresharkEspEncrLabel,
  wiresharkIkev2EncrLabel,
  wiresharkIkev2IntegLabel,
} from '../../../src/crypto/index.ts';

const EMPTY = new Uint8Array(0);

export interface IkeSaKeyRecord {
  readonly uniqueId: number;
  /** Connection name from the tag, once known. */
  conn: string | undefined;
  /** 16 lower-case hex digits each; undefined until the SA checked in with both. */
  spiI: string | undefined;
  spiR: string | undefined;
  /** e.g. "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519". */
  proposal: string | undefined;
  /** Whether this side initiated the IKE_SA ("initiating IKE_SA" in the log). */
  initiator: boolean;
  skD: Uint8Array;
  skAi: Uint8Array;
  skAr: Uint8Array;
  skEi: Uint8Array;
  skEr: Uint8Array;
  skPi: Uint8Array;
  skPr: Uint8Array;
}

export interface ChildSaKeyRecord {
  /** The IKE_SA's unique id. */
  readonly uniqueId: number;
  readonly conn: string | undefined;
  /** CHILD_SA name and unique id, e.g. "net" and 1. */
  readonly child: string;
  readonly childUniqueId: number;
  /** e.g. "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
  readonly proposal: string | undefined;
  /** 8 lower-case hex digits, from this side's view. */
  readonly spiIn: string;
  readonly spiOut: string;
  /** Whether this side initiated the exchange that created the CHILD_SA; the "initiator" keys protect its outbound SPI. */
  readonly exchangeInitiator: boolean;
  readonly encrI: Uint8Array;
  readonly encrR: Uint8Array;
  readonly integI: Uint8Array;
  readonly integR: Uint8Array;
  /** Traffic selectors as logged, e.g. "10.77.10.0/24". */
  readonly ts: string;
}

export interface CharonKeyLog {
  readonly ike: IkeSaKeyRecord[];
  readonly children: ChildSaKeyRecord[];
}

const LINE = /^\S+ (\d+)\[(\w+)\] (?:<(?:([^|>]*)\|)?(\d+)> )?(.*)$/;
const DUMP_HEAD = /^(.*?) => (\d+) bytes @ 0x[0-9a-f]+$/;
const DUMP_ROW = /^\s*(\d+): ((?:[0-9A-F]{2} ?)+)/;

const IKE_LABELS: Readonly<Record<string, keyof Pick<IkeSaKeyRecord, 'skD' | 'skAi' | 'skAr' | 'skEi' | 'skEr' | 'skPi' | 'skPr'>>> = {
  'Sk_d secret': 'skD',
  'Sk_ai secret': 'skAi',
  'Sk_ar secret': 'skAr',
  'Sk_ei secret': 'skEi',
  'Sk_er secret': 'skEr',
  'Sk_pi secret': 'skPi',
  'Sk_pr secret': 'skPr',
};

type ChildKeyName = 'encrI' | 'encrR' | 'integI' | 'integR';
const CHILD_LABELS: Readonly<Record<string, ChildKeyName>> = {
  'encryption initiator key': 'encrI',
  'encryption responder key': 'encrR',
  'integrity initiator key': 'integI',
  'integrity responder key': 'integR',
};

interface PendingChild {
  proposal: string | undefined;
  establishing: Set<string>;
  keys: Partial<Record<ChildKeyName, Uint8Array>>;
}

interface OpenDump {
  readonly label: string;
  readonly length: number;
  readonly bytes: number[];
  readonly unique: number;
}

export interface KeyLogParseOptions {
  /**
   * Whether the side that wrote the log initiated the CHILD_SA exchanges. charon
   * logs `establishing CHILD_SA name{N}` on the initiating side, which is used
   * when this is not given; set it for logs written without that line.
   */
  readonly childInitiator?: boolean;
}

/** Parses a charon level-4 filelog. */
export function parseCharonKeyLog(text: string, opts: KeyLogParseOptions = {}): CharonKeyLog {
  const ike = new Map<number, IkeSaKeyRecord>();
  const pending = new Map<number, PendingChild>();
  const children: ChildSaKeyRecord[] = [];
  const open = new Map<string, OpenDump>();

  const ikeRec = (unique: number): IkeSaKeyRecord => {
    let r = ike.get(unique);
    if (!r) {
      r = {
        uniqueId: unique,
        conn: undefined,
        spiI: undefined,
        spiR: undefined,
        proposal: undefined,
        initiator: false,
        skD: EMPTY,
        skAi: EMPTY,
        skAr: EMPTY,
        skEi: EMPTY,
        skEr: EMPTY,
        skPi: EMPTY,
        skPr: EMPTY,
      };
      ike.set(unique, r);
    }
    return r;
  };
  const pend = (unique: number): PendingChild => {
    let p = pending.get(unique);
    if (!p) {
      p = { proposal: undefined, establishing: new Set(), keys: {} };
      pending.set(unique, p);
    }
    return p;
  };
  const finish = (d: OpenDump) => {
    const bytes = Uint8Array.from(d.bytes.slice(0, d.length));
    const ikeKey = IKE_LABELS[d.label];
    if (ikeKey) ikeRec(d.unique)[ikeKey] = bytes;
    const childKey = CHILD_LABELS[d.label];
    if (childKey) pend(d.unique).keys[childKey] = bytes;
  };

  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, thread, , conn, uniqueText, msg] = m as unknown as [string, string, string, string | undefined, string | undefined, string];
    if (uniqueText === undefined) continue;
    const unique = Number(uniqueText);
    if (conn) ikeRec(unique).conn = conn;
    const stream = `${thread}/${unique}`;

    const cur = open.get(stream);
    const row = DUMP_ROW.exec(msg);
    if (cur && row) {
      for (const h of row[2]!.trim().split(' ')) cur.bytes.push(parseInt(h, 16));
      if (cur.bytes.length >= cur.length) {
        finish(cur);
        open.delete(stream);
      }
      continue;
    }
    if (cur) {
      finish(cur);
      open.delete(stream);
    }
    const head = DUMP_HEAD.exec(msg);
    if (head) {
      const d: OpenDump = { label: head[1]!, length: Number(head[2]), bytes: [], unique };
      if (d.length === 0) finish(d);
      else open.set(stream, d);
      continue;
    }

    let x: RegExpExecArray | null;
    if ((x = /^selected proposal: (IKE:\S+)/.exec(msg))) ikeRec(unique).proposal = x[1];
    else if ((x = /^selected proposal: (ESP:\S+)/.exec(msg))) pend(unique).proposal = x[1];
    else if (/^initiating IKE_SA /.test(msg)) ikeRec(unique).initiator = true;
    else if ((x = /^checkin IKEv2 SA \S+\[\d+\] with SPIs ([0-9a-f]{16})_i ([0-9a-f]{16})_r/.exec(msg))) {
      const r = ikeRec(unique);
      if (!/^0+$/.test(x[2]!)) {
        r.spiI = x[1];
        r.spiR = x[2];
      }
    } else if ((x = /^establishing CHILD_SA (\S+?)\{(\d+)\}/.exec(msg))) pend(unique).establishing.add(`${x[1]}{${x[2]}}`);
    else if ((x = /^CHILD_SA (\S+?)\{(\d+)\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o and TS (.*)$/.exec(msg))) {
      const p = pend(unique);
      const id = `${x[1]}{${x[2]}}`;
      children.push({
        uniqueId: unique,
        conn: ikeRec(unique).conn,
        child: x[1]!,
        childUniqueId: Number(x[2]),
        proposal: p.proposal,
        spiIn: x[3]!,
        spiOut: x[4]!,
        exchangeInitiator: opts.childInitiator ?? p.establishing.has(id),
        encrI: p.keys.encrI ?? EMPTY,
        encrR: p.keys.encrR ?? EMPTY,
        integI: p.keys.integI ?? EMPTY,
        integR: p.keys.integR ?? EMPTY,
        ts: x[5]!.trim(),
      });
      pending.delete(unique);
    }
  }
  for (const d of open.values()) finish(d);
  return { ike: [...ike.values()], children };
}

// ---- strongSwan algorithm names → Wireshark labels ----

interface Cipher {
  readonly encr: EncrId;
  readonly keyBits: number;
  readonly integ: IntegId;
}

const INTEG_NAMES: Readonly<Record<string, IntegId>> = {
  HMAC_MD5_96: IntegId.HMAC_MD5_96,
  HMAC_SHA1_96: IntegId.HMAC_SHA1_96,
  HMAC_SHA2_256_128: IntegId.HMAC_SHA2_256_128,
  HMAC_SHA2_384_192: IntegId.HMAC_SHA2_384_192,
  HMAC_SHA2_512_256: IntegId.HMAC_SHA2_512_256,
};

/** The cipher part of "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" or "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
export function cipherOfProposal(proposal: string): Cipher {
  const parts = proposal.replace(/^(IKE|ESP):/, '').split('/');
  const e = parts[0] ?? '';
  let encr: EncrId;
  let keyBits: number;
  let m: RegExpExecArray | null;
  if ((m = /^AES_GCM_16_(\d+)$/.exec(e))) [encr, keyBits] = [EncrId.AES_GCM_16, Number(m[1])];
  else if ((m = /^AES_CBC_(\d+)$/.exec(e))) [encr, keyBits] = [EncrId.AES_CBC, Number(m[1])];
  else if (e === '3DES_CBC') [encr, keyBits] = [EncrId.DES3, 192];
  else if (e === 'NULL') [encr, keyBits] = [EncrId.NULL, 0];
  else throw new Error(`no Wireshark label for encryption "${e}" in ${proposal}`);
  const integName = parts.slice(1).find((p) => p in INTEG_NAMES);
  return { encr, keyBits, integ: integName === undefined ? IntegId.NONE : INTEG_NAMES[integName]! };
}

export interface WiresharkRows {
  /** ikev2_decryption_table lines. */
  readonly ikev2: string[];
  /** esp_sa lines, with "*" addresses so they match inside and outside captures. */
  readonly esp: string[];
}

function hexBytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** Rows for every IKE_SA with SPIs and keys, and both directions of every CHILD_SA. */
export function wiresharkRows(log: CharonKeyLog): WiresharkRows {
  const ikev2: string[] = [];
  for (const r of log.ike) {
    if (!r.spiI || !r.spiR || !r.proposal || r.skEi.length === 0) continue;
    const c = cipherOfProposal(r.proposal);
    ikev2.push(
      ikev2DecryptionRow({
        spiI: hexBytes(r.spiI),
        spiR: hexBytes(r.spiR),
        skEi: r.skEi,
        skEr: r.skEr,
        encrLabel: wiresharkIkev2EncrLabel(c),
        skAi: r.skAi,
        skAr: r.skAr,
        integLabel: wiresharkIkev2IntegLabel(c.integ),
      }),
    );
  }
  const esp: string[] = [];
  for (const ch of log.children) {
    if (!ch.proposal) continue;
    const c = cipherOfProposal(ch.proposal);
    // The exchange initiator's keys protect initiator → responder traffic.
    const outKeys = ch.exchangeInitiator ? [ch.encrI, ch.integI] : [ch.encrR, ch.integR];
    const inKeys = ch.exchangeInitiator ? [ch.encrR, ch.integR] : [ch.encrI, ch.integI];
    for (const [spi, [key, authKey]] of [
      [ch.spiOut, outKeys],
      [ch.spiIn, inKeys],
    ] as const) {
      esp.push(
        espSaRow({
          family: 'IPv4',
          src: '*',
          dst: '*',
          spi: parseInt(spi, 16),
          encrLabel: wiresharkEspEncrLabel(c.encr),
          key: key!,
          authLabel: wiresharkEspAuthLabel(c.integ),
          authKey: authKey!,
        }),
      );
    }
  }
  return { ikev2, esp };
}
