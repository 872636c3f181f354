/**
 * strongSwan-style proposal strings ("aes128gcm16-prfsha256-x25519",
 * "aes256-sha256-modp2048", ESP "aes128-sha256-esn") to IKEv2 transforms with
 * IANA IDs, proposal selection, and the names of a negotiated suite in
 * strongSwan style and as Wireshark 4.0 UAT labels.
 */
import { ProtocolError } from '../core/index.ts';
import {
  DH_GROUP_NAMES,
  DhGroup,
  EncrId,
  EsnId,
  IntegId,
  PrfId,
  TransformType,
  encrInfo,
  integInfo,
  isDhGroup,
  isEncrId,
  isIntegId,
  isPrfId,
  prfInfo,
  type CipherSuite,
} from './algorithms.ts';

/** RFC 7296 §3.10.1. */
const NO_PROPOSAL_CHOSEN = 14;

export type ProposalProtocol = 'ike' | 'esp';

/** One transform as carried in an SA payload; keyLength (bits) is the Key Length attribute. */
export interface Transform {
  readonly type: TransformType;
  readonly id: number;
  readonly keyLength?: number;
}

export interface Proposal {
  readonly protocol: ProposalProtocol;
  /** Ordered by transform type (ENCR, PRF, INTEG, DH, ESN), preference order within a type. */
  readonly transforms: readonly Transform[];
  /** The text it was parsed from. */
  readonly text: string;
}

export class ProposalError extends Error {
  override readonly name = 'ProposalError';
  constructor(
    /** The offending token, or the whole proposal for a structural problem. */
    readonly token: string,
    message: string,
  ) {
    super(message);
  }
}

type Keyword =
  | { readonly type: typeof TransformType.ENCR; readonly id: EncrId; readonly keyLength?: number }
  | { readonly type: typeof TransformType.PRF; readonly id: PrfId }
  | { readonly type: typeof TransformType.INTEG; readonly id: IntegId }
  | { readonly type: typeof TransformType.DH; readonly id: DhGroup }
  | { readonly type: typeof TransformType.ESN; readonly id: EsnId };

const KEYWORDS = new Map<string, Keyword>();
function kw(names: string[], k: Keyword): void {
  for (const n of names) KEYWORDS.set(n, k);
}
for (const bits of [128, 192, 256]) {
  kw([`aes${bits}`], { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: bits });
  kw([`aes${bits}gcm16`, `aes${bits}gcm128`, `aes${bits}gcm`], { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: bits });
}
kw(['aes'], { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 });
kw(['3des'], { type: TransformType.ENCR, id: EncrId.DES3 });
kw(['null'], { type: TransformType.ENCR, id: EncrId.NULL });
kw(['md5'], { type: TransformType.INTEG, id: IntegId.HMAC_MD5_96 });
kw(['sha1', 'sha'], { type: TransformType.INTEG, id: IntegId.HMAC_SHA1_96 });
kw(['sha256', 'sha2_256'], { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 });
kw(['sha384', 'sha2_384'], { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_384_192 });
kw(['sha512', 'sha2_512'], { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_512_256 });
kw(['prfmd5'], { type: TransformType.PRF, id: PrfId.HMAC_MD5 });
kw(['prfsha1'], { type: TransformType.PRF, id: PrfId.HMAC_SHA1 });
kw(['prfsha256'], { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 });
kw(['prfsha384'], { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384 });
kw(['prfsha512'], { type: TransformType.PRF, id: PrfId.HMAC_SHA2_512 });
kw(['modp2048'], { type: TransformType.DH, id: DhGroup.MODP_2048 });
kw(['modp3072'], { type: TransformType.DH, id: DhGroup.MODP_3072 });
kw(['ecp256'], { type: TransformType.DH, id: DhGroup.ECP_256 });
kw(['ecp384'], { type: TransformType.DH, id: DhGroup.ECP_384 });
kw(['x25519', 'curve25519'], { type: TransformType.DH, id: DhGroup.CURVE_25519 });
kw(['esn'], { type: TransformType.ESN, id: EsnId.ESN });
kw(['noesn'], { type: TransformType.ESN, id: EsnId.NO_ESN });

/** The PRF strongSwan adds to an IKE proposal that names an integrity algorithm but no PRF. */
const PRF_FOR_INTEG: Readonly<Partial<Record<IntegId, PrfId>>> = {
  [IntegId.HMAC_MD5_96]: PrfId.HMAC_MD5,
  [IntegId.HMAC_SHA1_96]: PrfId.HMAC_SHA1,
  [IntegId.HMAC_SHA2_256_128]: PrfId.HMAC_SHA2_256,
  [IntegId.HMAC_SHA2_384_192]: PrfId.HMAC_SHA2_384,
  [IntegId.HMAC_SHA2_512_256]: PrfId.HMAC_SHA2_512,
};

const TYPE_ORDER: readonly TransformType[] = [
  TransformType.ENCR,
  TransformType.PRF,
  TransformType.INTEG,
  TransformType.DH,
  TransformType.ESN,
];

function sameTransform(a: Transform, b: Transform): boolean {
  return a.type === b.type && a.id === b.id && a.keyLength === b.keyLength;
}

/** Parses one strongSwan proposal ("aes128gcm16-prfsha256-x25519") for IKE or ESP. */
export function parseProposal(text: string, protocol: ProposalProtocol): Proposal {
  const src = text.trim();
  if (src === '') throw new ProposalError(text, 'empty proposal');
  const byType = new Map<TransformType, Transform[]>();
  for (const raw of src.split('-')) {
    const token = raw.trim().toLowerCase();
    const k = KEYWORDS.get(token);
    if (!k) throw new ProposalError(raw, `unknown algorithm "${raw}" in proposal "${src}"`);
    if (protocol === 'ike' && k.type === TransformType.ESN) {
      throw new ProposalError(raw, `"${raw}" is an ESP option, not valid in IKE proposal "${src}"`);
    }
    if (protocol === 'esp' && k.type === TransformType.PRF) {
      throw new ProposalError(raw, `"${raw}" is a PRF, not valid in ESP proposal "${src}"`);
    }
    const t: Transform = 'keyLength' in k && k.keyLength !== undefined ? { type: k.type, id: k.id, keyLength: k.keyLength } : { type: k.type, id: k.id };
    const list = byType.get(k.type) ?? [];
    if (!list.some((x) => sameTransform(x, t))) list.push(t);
    byType.set(k.type, list);
  }
  const encr = byType.get(TransformType.ENCR) ?? [];
  const integ = byType.get(TransformType.INTEG) ?? [];
  if (encr.length === 0) throw new ProposalError(src, `proposal "${src}" names no encryption algorithm`);
  const aead = encr.filter((t) => encrInfo(t.id as EncrId).aead);
  if (aead.length > 0 && aead.length !== encr.length) {
    throw new ProposalError(src, `proposal "${src}" mixes AEAD and non-AEAD encryption; split it into two proposals`);
  }
  if (aead.length > 0 && integ.length > 0) {
    throw new ProposalError(src, `proposal "${src}" combines an AEAD cipher with an integrity algorithm`);
  }
  if (aead.length === 0 && integ.length === 0) {
    throw new ProposalError(src, `proposal "${src}" needs an integrity algorithm for its non-AEAD cipher`);
  }
  if (protocol === 'ike') {
    if (encr.some((t) => t.id === EncrId.NULL)) throw new ProposalError('null', `NULL encryption is not allowed for IKE ("${src}")`);
    if (!byType.has(TransformType.PRF)) {
      if (integ.length === 0) {
        throw new ProposalError(src, `IKE proposal "${src}" with an AEAD cipher needs an explicit PRF (e.g. prfsha256)`);
      }
      const prfs: Transform[] = [];
      for (const i of integ) {
        const p = PRF_FOR_INTEG[i.id as IntegId];
        if (p !== undefined && !prfs.some((x) => x.id === p)) prfs.push({ type: TransformType.PRF, id: p });
      }
      byType.set(TransformType.PRF, prfs);
    }
    if (!byType.has(TransformType.DH)) throw new ProposalError(src, `IKE proposal "${src}" names no Diffie-Hellman group`);
  } else if (!byType.has(TransformType.ESN)) {
    byType.set(TransformType.ESN, [{ type: TransformType.ESN, id: EsnId.NO_ESN }]);
  }
  const transforms = TYPE_ORDER.flatMap((t) => byType.get(t) ?? []);
  return { protocol, transforms, text: src };
}

/** Parses a comma-separated list of proposals ("aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048"). */
export function parseProposals(text: string, protocol: ProposalProtocol): Proposal[] {
  // Every endpoint resolves its peers' proposal strings, mostly the same few defaults:
  // each distinct text is parsed once. The cached proposals and transforms are frozen
  // (they are readonly data); the caller gets its own array.
  const key = `${protocol}\u0000${text}`;
  let cached = parsedProposals.get(key);
  if (cached === undefined) {
    cached = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => parseProposal(s, protocol))
      .map((p) => Object.freeze({ ...p, transforms: Object.freeze(p.transforms.map((t) => Object.freeze({ ...t }))) }));
    if (parsedProposals.size >= MAX_CACHED_PROPOSAL_TEXTS) parsedProposals.clear();
    parsedProposals.set(key, cached);
  }
  return [...cached];
}

/** Parsed proposal lists by protocol and text (bounded: cleared when it reaches the limit). */
const parsedProposals = new Map<string, readonly Proposal[]>();
const MAX_CACHED_PROPOSAL_TEXTS = 256;

/** A proposal received from the peer (as decoded from its SA payload). */
export interface PeerProposal {
  /** Proposal Num from the payload; defaults to position + 1. */
  readonly number?: number;
  readonly transforms: readonly Transform[];
}

export interface ChosenProposal {
  /** Position of the accepted proposal in the peer's list. */
  readonly index: number;
  /** Its Proposal Num, to echo in the answer. */
  readonly number: number;
  /** One transform per type, ordered ENCR, PRF, INTEG, DH, ESN. */
  readonly transforms: readonly Transform[];
}

export interface SelectOptions {
  /**
   * 'peer' (default here): the first peer proposal we accept wins, and within it
   * the peer's order of transforms. 'ours': our configured order decides; this is
   * what charon does by default (charon.prefer_configured_proposals = yes).
   */
  readonly prefer?: 'peer' | 'ours';
}

function ofType(ts: readonly Transform[], type: TransformType): Transform[] {
  const list = ts.filter((t) => t.type === type);
  // An absent DH in an ESP proposal means "no PFS", an absent ESN means no ESN.
  if (list.length === 0 && type === TransformType.DH) return [{ type, id: DhGroup.NONE }];
  if (list.length === 0 && type === TransformType.ESN) return [{ type, id: EsnId.NO_ESN }];
  return list;
}

function matchProposal(ours: Proposal, peer: readonly Transform[], preferPeer: boolean): Transform[] | undefined {
  const chosen: Transform[] = [];
  const types = new Set<TransformType>([...ours.transforms.map((t) => t.type), ...peer.map((t) => t.type)]);
  if (ours.protocol === 'esp') {
    types.add(TransformType.DH);
    types.add(TransformType.ESN);
  }
  for (const type of TYPE_ORDER) {
    if (!types.has(type)) continue;
    const mine = ofType(ours.transforms, type);
    const theirs = ofType(peer, type);
    const [first, second] = preferPeer ? [theirs, mine] : [mine, theirs];
    const pick = first.find((a) => second.some((b) => sameTransform(a, b)));
    if (!pick) return undefined;
    if (type === TransformType.DH && pick.id === DhGroup.NONE && !peer.some((t) => t.type === TransformType.DH)) continue;
    chosen.push(pick);
  }
  return chosen;
}

/**
 * Responder-side selection: the first acceptable combination of one of our
 * proposals and one of the peer's, or undefined (answer NO_PROPOSAL_CHOSEN).
 */
export function selectProposal(
  ours: readonly Proposal[],
  peers: readonly PeerProposal[],
  options: SelectOptions = {},
): ChosenProposal | undefined {
  const preferPeer = (options.prefer ?? 'peer') === 'peer';
  if (preferPeer) {
    for (let i = 0; i < peers.length; i++) {
      for (const o of ours) {
        const t = matchProposal(o, peers[i]!.transforms, true);
        if (t) return { index: i, number: peers[i]!.number ?? i + 1, transforms: t };
      }
    }
    return undefined;
  }
  for (const o of ours) {
    for (let i = 0; i < peers.length; i++) {
      const t = matchProposal(o, peers[i]!.transforms, false);
      if (t) return { index: i, number: peers[i]!.number ?? i + 1, transforms: t };
    }
  }
  return undefined;
}

/** A negotiated IKE SA suite. */
export interface IkeSuite extends CipherSuite {
  readonly prf: PrfId;
  readonly dh: Exclude<DhGroup, typeof DhGroup.NONE>;
}

/** A negotiated CHILD_SA (ESP) suite. */
export interface EspSuite extends CipherSuite {
  /** DhGroup.NONE without PFS. */
  readonly dh: DhGroup;
  readonly esn: boolean;
}

function single(ts: readonly Transform[], type: TransformType, what: string, required: boolean): Transform | undefined {
  const list = ts.filter((t) => t.type === type);
  if (list.length > 1) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `chosen proposal has ${list.length} ${what} transforms`);
  if (list.length === 0 && required) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `chosen proposal has no ${what} transform`);
  return list[0];
}

function cipherFrom(ts: readonly Transform[]): CipherSuite {
  const e = single(ts, TransformType.ENCR, 'encryption', true)!;
  if (!isEncrId(e.id)) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `unsupported encryption algorithm ${e.id}`);
  const info = encrInfo(e.id);
  let keyBits: number;
  if (info.keyLengthAttribute) {
    if (e.keyLength === undefined || !info.keyBits.includes(e.keyLength)) {
      throw new ProtocolError(NO_PROPOSAL_CHOSEN, `${info.name} needs a key length of ${info.keyBits.join('/')} bits, got ${String(e.keyLength)}`);
    }
    keyBits = e.keyLength;
  } else {
    keyBits = info.keyBits[0]!;
  }
  const i = single(ts, TransformType.INTEG, 'integrity', false);
  const integ = i?.id ?? IntegId.NONE;
  if (!isIntegId(integ)) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `unsupported integrity algorithm ${integ}`);
  if (info.aead && integ !== IntegId.NONE) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `${info.name} is AEAD but an integrity algorithm was chosen`);
  if (!info.aead && integ === IntegId.NONE) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `${info.name} needs an integrity algorithm`);
  return { encr: e.id, keyBits, integ };
}

export function ikeSuiteFromTransforms(ts: readonly Transform[]): IkeSuite {
  const cipher = cipherFrom(ts);
  const p = single(ts, TransformType.PRF, 'PRF', true)!;
  if (!isPrfId(p.id)) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `unsupported PRF ${p.id}`);
  const d = single(ts, TransformType.DH, 'Diffie-Hellman', true)!;
  if (!isDhGroup(d.id) || d.id === DhGroup.NONE) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `unsupported Diffie-Hellman group ${d.id}`);
  return { ...cipher, prf: p.id, dh: d.id };
}

export function espSuiteFromTransforms(ts: readonly Transform[]): EspSuite {
  const cipher = cipherFrom(ts);
  const d = single(ts, TransformType.DH, 'Diffie-Hellman', false);
  const dh = d?.id ?? DhGroup.NONE;
  if (!isDhGroup(dh)) throw new ProtocolError(NO_PROPOSAL_CHOSEN, `unsupported Diffie-Hellman group ${dh}`);
  const s = single(ts, TransformType.ESN, 'ESN', false);
  return { ...cipher, dh, esn: s?.id === EsnId.ESN };
}

/** The transforms of a suite, as they would be proposed or echoed. */
export function transformsOfIkeSuite(s: IkeSuite): Transform[] {
  const out: Transform[] = [encrTransform(s), { type: TransformType.PRF, id: s.prf }];
  if (s.integ !== IntegId.NONE) out.push({ type: TransformType.INTEG, id: s.integ });
  out.push({ type: TransformType.DH, id: s.dh });
  return out;
}

export function transformsOfEspSuite(s: EspSuite): Transform[] {
  const out: Transform[] = [encrTransform(s)];
  if (s.integ !== IntegId.NONE) out.push({ type: TransformType.INTEG, id: s.integ });
  if (s.dh !== DhGroup.NONE) out.push({ type: TransformType.DH, id: s.dh });
  out.push({ type: TransformType.ESN, id: s.esn ? EsnId.ESN : EsnId.NO_ESN });
  return out;
}

function encrTransform(s: CipherSuite): Transform {
  return encrInfo(s.encr).keyLengthAttribute
    ? { type: TransformType.ENCR, id: s.encr, keyLength: s.keyBits }
    : { type: TransformType.ENCR, id: s.encr };
}

/** strongSwan's name of the encryption part, e.g. "AES_GCM_16_128", "AES_CBC_256", "3DES_CBC", "NULL". */
export function encrName(s: Pick<CipherSuite, 'encr' | 'keyBits'>): string {
  const info = encrInfo(s.encr);
  if (s.encr === EncrId.DES3) return '3DES_CBC';
  return info.keyLengthAttribute ? `${info.name}_${s.keyBits}` : info.name;
}

/** "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519", "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048". */
export function ikeSuiteName(s: IkeSuite): string {
  const parts = [encrName(s)];
  if (s.integ !== IntegId.NONE) parts.push(integInfo(s.integ).name);
  parts.push(prfInfo(s.prf).name, DH_GROUP_NAMES[s.dh]);
  return `IKE:${parts.join('/')}`;
}

/** "ESP:AES_GCM_16_128/NO_EXT_SEQ", "ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/EXT_SEQ". */
export function espSuiteName(s: EspSuite): string {
  const parts = [encrName(s)];
  if (s.integ !== IntegId.NONE) parts.push(integInfo(s.integ).name);
  if (s.dh !== DhGroup.NONE) parts.push(DH_GROUP_NAMES[s.dh]);
  parts.push(s.esn ? 'EXT_SEQ' : 'NO_EXT_SEQ');
  return `ESP:${parts.join('/')}`;
}

// ---- Wireshark 4.0 UAT labels (ikev2_decryption_table, esp_sa) ----

/** ikev2_decryption_table "Encryption algorithm" label. */
export function wiresharkIkev2EncrLabel(s: Pick<CipherSuite, 'encr' | 'keyBits'>): string {
  switch (s.encr) {
    case EncrId.AES_CBC:
      return `AES-CBC-${s.keyBits} [RFC3602]`;
    case EncrId.AES_GCM_16:
      return `AES-GCM-${s.keyBits} with 16 octet ICV [RFC5282]`;
    case EncrId.DES3:
      return '3DES [RFC2451]';
    case EncrId.NULL:
      return 'NULL [RFC2410]';
  }
}

const IKEV2_INTEG_LABELS: Readonly<Record<IntegId, string>> = {
  [IntegId.NONE]: 'NONE [RFC4306]',
  [IntegId.HMAC_MD5_96]: 'HMAC_MD5_96 [RFC2403]',
  [IntegId.HMAC_SHA1_96]: 'HMAC_SHA1_96 [RFC2404]',
  [IntegId.HMAC_SHA2_256_128]: 'HMAC_SHA2_256_128 [RFC4868]',
  [IntegId.HMAC_SHA2_384_192]: 'HMAC_SHA2_384_192 [RFC4868]',
  [IntegId.HMAC_SHA2_512_256]: 'HMAC_SHA2_512_256 [RFC4868]',
};

/** ikev2_decryption_table "Integrity algorithm" label. */
export function wiresharkIkev2IntegLabel(integ: IntegId): string {
  return IKEV2_INTEG_LABELS[integ];
}

/** esp_sa "Encryption" label (the key size follows from the key). */
export function wiresharkEspEncrLabel(encr: EncrId): string {
  switch (encr) {
    case EncrId.AES_CBC:
      return 'AES-CBC [RFC3602]';
    case EncrId.AES_GCM_16:
      return 'AES-GCM with 16 octet ICV [RFC4106]';
    case EncrId.DES3:
      return 'TripleDES-CBC [RFC2451]';
    case EncrId.NULL:
      return 'NULL';
  }
}

const ESP_AUTH_LABELS: Readonly<Record<IntegId, string>> = {
  [IntegId.NONE]: 'NULL',
  [IntegId.HMAC_MD5_96]: 'HMAC-MD5-96 [RFC2403]',
  [IntegId.HMAC_SHA1_96]: 'HMAC-SHA-1-96 [RFC2404]',
  [IntegId.HMAC_SHA2_256_128]: 'HMAC-SHA-256-128 [RFC4868]',
  [IntegId.HMAC_SHA2_384_192]: 'HMAC-SHA-384-192 [RFC4868]',
  [IntegId.HMAC_SHA2_512_256]: 'HMAC-SHA-512-256 [RFC4868]',
};

/** esp_sa "Authentication" label. */
export function wiresharkEspAuthLabel(integ: IntegId): string {
  return ESP_AUTH_LABELS[integ];
}

/** Reverse of wiresharkIkev2EncrLabel; undefined for a label this code does not implement. */
export function ikev2EncrFromWiresharkLabel(label: string): Pick<CipherSuite, 'encr' | 'keyBits'> | undefined {
  for (const encr of [EncrId.AES_CBC, EncrId.AES_GCM_16, EncrId.DES3, EncrId.NULL] as const) {
    for (const keyBits of encrInfo(encr).keyBits) {
      if (wiresharkIkev2EncrLabel({ encr, keyBits }) === label) return { encr, keyBits };
    }
  }
  return undefined;
}

export function ikev2IntegFromWiresharkLabel(label: string): IntegId | undefined {
  return lookup(IKEV2_INTEG_LABELS, label);
}

export function espEncrFromWiresharkLabel(label: string): EncrId | undefined {
  for (const encr of [EncrId.AES_CBC, EncrId.AES_GCM_16, EncrId.DES3, EncrId.NULL] as const) {
    if (wiresharkEspEncrLabel(encr) === label) return encr;
  }
  return undefined;
}

export function espAuthFromWiresharkLabel(label: string): IntegId | undefined {
  return lookup(ESP_AUTH_LABELS, label);
}

function lookup(table: Readonly<Record<IntegId, string>>, label: string): IntegId | undefined {
  for (const [k, v] of Object.entries(table)) if (v === label) return Number(k) as IntegId;
  return undefined;
}
