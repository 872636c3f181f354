/**
 * NAT detection from captured NAT-D hashes, recomputed against the observed headers.
 *
 * Hashes (RFC 7296 §2.23, RFC 3947 §3.2):
 *   IKEv2: SHA-1(SPIi | SPIr | IP | port), SPIr all zero in the first IKE_SA_INIT request;
 *   IKEv1: HASH(CKY-I | CKY-R | IP | port) with the hash negotiated in the phase 1 SA.
 * The SPIs are those of the header of the message that carried the hash.
 *
 * Each hash is judged against the packet that carried it: a SOURCE hash against that
 * packet's source address:port, a DESTINATION hash against its destination.
 *  - DESTINATION differs → the receiver's address was translated: receiver behind NAT.
 *  - SOURCE differs → it either covers another address:port of the sender seen in the
 *    capture(s) ("translated": sender behind NAT), or nothing seen. Then the capture
 *    decides: if the sender's real address is in view (a capture where the peer's
 *    DESTINATION hash for it did not match, i.e. taken on the sender's side of its
 *    NAT) or nothing shows it being translated (standard ports 500/4500, the same
 *    endpoint in every capture), the hash is fake: the sender forces UDP encapsulation
 *    (strongSwan 5.9.8 with kernel-libipsec hashes a random address with port 0).
 *    If the capture shows translation (a port other than 500/4500, or a different
 *    endpoint in another capture) it is "unverified": sender behind NAT, its private
 *    address just not in this capture.
 */
import { createHash } from 'node:crypto';
import { bytesEqual, toHex, type Endpoint } from '../core/index.ts';
import { endpointText } from './format.ts';
import { NATD_STATUS, type NatDetectionReport, type NatdAlgorithmName, type NatdHashReport, type NatdStatus, type Role } from './report.ts';

const NODE_HASH: Readonly<Record<NatdAlgorithmName, string>> = {
  MD5: 'md5',
  SHA1: 'sha1',
  'SHA2-256': 'sha256',
  'SHA2-384': 'sha384',
  'SHA2-512': 'sha512',
};

/** The hash length of each algorithm, to infer the IKEv1 hash when the SA was not seen. */
export const NATD_HASH_LENGTHS: Readonly<Record<NatdAlgorithmName, number>> = {
  MD5: 16,
  SHA1: 20,
  'SHA2-256': 32,
  'SHA2-384': 48,
  'SHA2-512': 64,
};

export function algorithmForLength(n: number): NatdAlgorithmName | undefined {
  for (const [name, len] of Object.entries(NATD_HASH_LENGTHS)) if (len === n) return name as NatdAlgorithmName;
  return undefined;
}

/** SPIi | SPIr | IP | port (the bytes that are hashed). */
export function natdHashInput(spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Uint8Array {
  const a = ep.addr.bytes;
  const out = new Uint8Array(spiI.length + spiR.length + a.length + 2);
  out.set(spiI, 0);
  out.set(spiR, spiI.length);
  out.set(a, spiI.length + spiR.length);
  out[out.length - 2] = (ep.port >> 8) & 0xff;
  out[out.length - 1] = ep.port & 0xff;
  return out;
}

export function natdHash(alg: NatdAlgorithmName, spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Uint8Array {
  return new Uint8Array(createHash(NODE_HASH[alg]).update(natdHashInput(spiI, spiR, ep)).digest());
}

/** One NAT-D hash as captured, with the header it travelled under. */
export interface NatdObservation {
  readonly capture: number;
  readonly frame: number;
  readonly message: string;
  readonly sender: Role;
  readonly kind: 'source' | 'destination';
  readonly carrier: string;
  readonly encrypted: boolean;
  readonly algorithm: NatdAlgorithmName;
  readonly hash: Uint8Array;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly src: Endpoint;
  readonly dst: Endpoint;
}

/** What the capture(s) show of the SA's endpoints, for the judgement. */
export interface LegEndpoints {
  /** Used with port 500 on either side. */
  readonly on500: readonly Endpoint[];
  /** Used on the NAT-T port pair. */
  readonly on4500: readonly Endpoint[];
}

export interface NatdContext {
  /** Every endpoint each side used, per capture index. */
  readonly endpoints: Readonly<Record<Role, ReadonlyMap<number, LegEndpoints>>>;
}

const other = (r: Role): Role => (r === 'initiator' ? 'responder' : 'initiator');
const STANDARD_PORTS = new Set([500, 4500]);

function findEndpoint(
  ctx: NatdContext,
  alg: NatdAlgorithmName,
  o: NatdObservation,
): { ep: Endpoint; role: Role; capture: number } | undefined {
  for (const role of ['initiator', 'responder'] as const) {
    for (const [capture, legs] of ctx.endpoints[role]) {
      for (const ep of [...legs.on500, ...legs.on4500]) if (bytesEqual(natdHash(alg, o.spiI, o.spiR, ep), o.hash)) return { ep, role, capture };
    }
  }
  return undefined;
}

/** The sender used another endpoint on the same leg in another capture (the same packets seen before and after a NAT). */
function seenElsewhere(ctx: NatdContext, role: Role, o: NatdObservation): boolean {
  const on500 = o.src.port === 500 || o.dst.port === 500;
  const own = endpointText(o.src);
  for (const [c, legs] of ctx.endpoints[role]) {
    if (c === o.capture) continue;
    const eps = on500 ? legs.on500 : legs.on4500;
    if (eps.length > 0 && !eps.some((ep) => endpointText(ep) === own)) return true;
  }
  return false;
}

function allEndpoints(legs: LegEndpoints | undefined): string {
  if (!legs) return '?';
  return [...new Set([...legs.on500, ...legs.on4500].map(endpointText))].join(', ');
}

const RANK: Readonly<Record<NatdStatus, number>> = { match: 4, translated: 3, unverified: 2, fake: 1, mismatch: 0 };

/** Judges every hash and derives who is behind NAT. `limitOmitted` is reported as hashesOmitted. */
export function evaluateNatd(
  observations: readonly NatdObservation[],
  ctx: NatdContext,
  hashAlgorithm: NatdAlgorithmName | null,
  omitted = 0,
): NatDetectionReport {
  if (observations.length === 0) {
    return {
      consistent: true,
      initiatorBehindNat: null,
      responderBehindNat: null,
      fake: false,
      fakeSenders: [],
      hashAlgorithm,
      hashes: [],
      hashesOmitted: omitted,
      explanation: ['No NAT-D hashes were seen for this SA: NAT traversal was not negotiated in the captured messages.'],
    };
  }
  const behind: Record<Role, boolean> = { initiator: false, responder: false };
  const insideView: Record<Role, Set<number>> = { initiator: new Set(), responder: new Set() };
  const out = new Array<NatdHashReport | undefined>(observations.length);
  const explanation: string[] = [];

  const base = (o: NatdObservation) => {
    const ep = o.kind === 'source' ? o.src : o.dst;
    const expectedHash = natdHash(o.algorithm, o.spiI, o.spiR, ep);
    return { ep, expectedHash, matches: bytesEqual(expectedHash, o.hash) };
  };
  const report = (o: NatdObservation, b: ReturnType<typeof base>, status: NatdStatus, matched: Endpoint | null, text: string): NatdHashReport => ({
    capture: o.capture,
    frame: o.frame,
    message: o.message,
    sender: o.sender,
    kind: o.kind,
    carrier: o.carrier,
    encrypted: o.encrypted,
    algorithm: o.algorithm,
    hash: toHex(o.hash),
    packet: { src: endpointText(o.src), dst: endpointText(o.dst) },
    expected: {
      spiI: toHex(o.spiI),
      spiR: toHex(o.spiR),
      endpoint: endpointText(b.ep),
      input: toHex(natdHashInput(o.spiI, o.spiR, b.ep)),
      hash: toHex(b.expectedHash),
    },
    matches: b.matches,
    matchedEndpoint: matched ? endpointText(matched) : null,
    status,
    explanation: text,
  });
  const where = (o: NatdObservation) => `frame ${o.frame}${o.capture > 0 ? ` of capture ${o.capture}` : ''} (${o.message}${o.encrypted ? ', encrypted' : ''})`;

  // Pass 1: DESTINATION hashes.
  observations.forEach((o, i) => {
    if (o.kind !== 'destination') return;
    const b = base(o);
    const receiver = other(o.sender);
    if (b.matches) {
      out[i] = report(o, b, NATD_STATUS.MATCH, o.dst, `The ${o.sender}'s DESTINATION hash covers ${endpointText(o.dst)}, the packet's destination: the ${receiver}'s address arrived as the ${o.sender} addressed it.`);
      return;
    }
    behind[receiver] = true;
    insideView[receiver].add(o.capture);
    const found = findEndpoint(ctx, o.algorithm, o);
    const covers = found ? `covers ${endpointText(found.ep)} (the ${found.role}'s address${found.capture !== o.capture ? ` in capture ${found.capture}` : ''})` : 'covers no address:port seen in the capture';
    out[i] = report(
      o,
      b,
      NATD_STATUS.MISMATCH,
      found?.ep ?? null,
      `The ${o.sender}'s DESTINATION hash ${covers}, not the packet's destination ${endpointText(o.dst)}: the ${receiver}'s address was translated on the way, so the ${receiver} is behind NAT.`,
    );
  });

  // Both peers' DESTINATION hashes failing in one capture cannot happen at any single
  // point of a real path (that point would have to be inside both NATs): the addresses
  // were rewritten after capture (anonymised test files) or the peers hash something else.
  const inconsistentIn = [...insideView.initiator].filter((c) => insideView.responder.has(c));
  const consistent = inconsistentIn.length === 0;
  if (!consistent) {
    insideView.initiator.clear();
    insideView.responder.clear();
  }

  // Pass 2: SOURCE hashes.
  observations.forEach((o, i) => {
    if (o.kind !== 'source') return;
    const b = base(o);
    const s = o.sender;
    if (b.matches) {
      out[i] = report(o, b, NATD_STATUS.MATCH, o.src, `The ${s}'s SOURCE hash covers ${endpointText(o.src)}, the packet's source: not translated on the way to this capture.`);
      return;
    }
    const found = findEndpoint(ctx, o.algorithm, o);
    if (found && found.role === s) {
      out[i] = report(
        o,
        b,
        NATD_STATUS.TRANSLATED,
        found.ep,
        `The ${s}'s SOURCE hash covers ${endpointText(found.ep)}${found.capture !== o.capture ? ` (seen in capture ${found.capture})` : ''}, but the packet came from ${endpointText(o.src)}: a NAT translated the ${s}, which is behind NAT.`,
      );
      return;
    }
    const swapped = found ? ` It covers the ${found.role}'s address ${endpointText(found.ep)} instead.` : '';
    const ownPortOdd = !STANDARD_PORTS.has(o.src.port);
    const elsewhere = seenElsewhere(ctx, s, o);
    if (!consistent) {
      out[i] = report(o, b, NATD_STATUS.UNVERIFIED, found?.ep ?? null, `The ${s}'s SOURCE hash does not match the packet's source ${endpointText(o.src)}.${swapped} With hashes that contradict each other, nothing more can be concluded from it.`);
      return;
    }
    if (insideView[s].size > 0) {
      const c = [...insideView[s]][0]!;
      const real = allEndpoints(ctx.endpoints[s].get(c));
      out[i] = report(
        o,
        b,
        NATD_STATUS.FAKE,
        found?.ep ?? null,
        `The ${s}'s SOURCE hash matches no address:port seen, although capture ${c} shows the ${s}'s own address (${real}).${swapped} A fake source hash: the ${s} forces UDP encapsulation (strongSwan 5.9.8 with kernel-libipsec hashes a random address with port 0).`,
      );
      return;
    }
    if (ownPortOdd || elsewhere) {
      const why = ownPortOdd
        ? `its port ${o.src.port} is neither 500 nor 4500, so a NAT rewrote it`
        : `the ${s} appears at another address:port in another capture`;
      out[i] = report(
        o,
        b,
        NATD_STATUS.UNVERIFIED,
        found?.ep ?? null,
        `The ${s}'s SOURCE hash does not match the packet's source ${endpointText(o.src)}, and ${why}: the ${s} is behind NAT; the private address the hash covers is not in the capture.${swapped}`,
      );
      return;
    }
    out[i] = report(
      o,
      b,
      NATD_STATUS.FAKE,
      found?.ep ?? null,
      `The ${s}'s SOURCE hash matches no address:port seen, yet nothing shows the ${s}'s address being translated (it sends from ${endpointText(o.src)}).${swapped} A fake source hash: the ${s} forces UDP encapsulation, and its peer will believe it is behind NAT (strongSwan 5.9.8 with kernel-libipsec hashes a random address with port 0).`,
    );
  });

  const hashes = out as NatdHashReport[];
  // SOURCE hashes of one message: the best status counts (a multihomed sender lists several).
  const bestBySourceMessage = new Map<string, NatdHashReport>();
  for (const h of hashes) {
    if (h.kind !== 'source') continue;
    const key = `${h.capture}:${h.frame}:${h.sender}`;
    const cur = bestBySourceMessage.get(key);
    if (!cur || RANK[h.status] > RANK[cur.status]) bestBySourceMessage.set(key, h);
  }
  for (const h of bestBySourceMessage.values()) {
    if (h.status === NATD_STATUS.TRANSLATED || h.status === NATD_STATUS.UNVERIFIED) behind[h.sender] = true;
  }
  const fakeSenders = (['initiator', 'responder'] as const).filter((r) =>
    [...bestBySourceMessage.values()].some((h) => h.sender === r && h.status === NATD_STATUS.FAKE),
  );
  hashes.forEach((h, i) => {
    if (h.status !== NATD_STATUS.MATCH) explanation.push(`${where(observations[i]!)}: ${h.explanation}`);
  });
  const verdict = (r: Role) => (behind[r] ? `the ${r} is behind NAT` : `the ${r} is not behind NAT`);
  explanation.unshift(
    hashes.every((h) => h.status === NATD_STATUS.MATCH)
      ? `All ${hashes.length} NAT-D hashes match the addresses they were sent with: no NAT between the peers as seen here.`
      : `${verdict('initiator')[0]!.toUpperCase()}${verdict('initiator').slice(1)}; ${verdict('responder')}.`,
  );
  if (fakeSenders.length) {
    explanation.push(
      `Fake SOURCE hash from the ${fakeSenders.join(' and the ')}: ${fakeSenders.length === 1 ? 'it does' : 'they do'} not report ${fakeSenders.length === 1 ? 'its' : 'their'} address, to force UDP encapsulation (RFC 3948) whether or not there is a NAT. Its peer concludes "remote host is behind NAT"; that conclusion is spurious.`,
    );
  }
  if (!consistent) {
    explanation.unshift(
      `The hashes contradict each other: in capture ${inconsistentIn[0]} the DESTINATION hashes of both peers differ from the packets' destinations, which no single capture point on a real path can show. The addresses were probably rewritten after capture (anonymised), or the peers hash other inputs; this verdict is unreliable.`,
    );
  }
  return {
    consistent,
    initiatorBehindNat: behind.initiator,
    responderBehindNat: behind.responder,
    fake: fakeSenders.length > 0,
    fakeSenders,
    hashAlgorithm,
    hashes,
    hashesOmitted: omitted,
    explanation,
  };
}
