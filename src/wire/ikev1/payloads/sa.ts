/**
 * Security Association payload (RFC 2408 §3.4, IPsec DOI RFC 2407 §4.6.1):
 *
 *   generic header | DOI (4) | Situation (4 for the IPsec DOI) | Proposal payloads ...
 *
 * For the IPsec DOI with a plain situation (SIT_IDENTITY_ONLY or zero) the proposal
 * chain is decoded; it is walked by each proposal's own next-payload (2 / 0) and length
 * and must fill the SA payload exactly. Other DOIs, and situations carrying labelled
 * domain data (SIT_SECRECY, SIT_INTEGRITY), keep everything after the DOI verbatim.
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { Doi, GENERIC_PAYLOAD_HEADER_LENGTH, PayloadType, Situation } from '../constants.ts';
import { framed, IKEV1_LAYER, readGenericHeader, writeGenericHeader } from '../generic.ts';
import { proposalBodyLength, readProposalBody, writeProposalBody, type Proposal } from './proposal.ts';

export interface SaPayload {
  readonly doi: number;
  /** IPsec DOI situation bitmap; undefined when `opaque` holds the rest of the payload. */
  readonly situation?: number;
  /** Decoded proposals (IPsec DOI, plain situation); empty when `opaque` is set. */
  readonly proposals: readonly Proposal[];
  /** Everything after the DOI, verbatim, when the situation format is not decoded. */
  readonly opaque?: Uint8Array;
}

/** Whether decode() walks the proposals for this DOI and situation. */
export function saIsStructured(doi: number, situation: number): boolean {
  return doi === Doi.IPSEC && (situation & ~Situation.IDENTITY_ONLY) === 0;
}

export function readSaBody(r: ByteReader): SaPayload {
  const doi = r.u32('sa.doi');
  if (doi !== Doi.IPSEC) return { doi, proposals: [], opaque: r.rest().slice() };
  const situationAt = r.pos;
  const situation = r.u32('sa.situation');
  if (!saIsStructured(doi, situation)) return { doi, proposals: [], opaque: r.buf.slice(situationAt) };
  const proposals: Proposal[] = [];
  let more = r.remaining > 0;
  while (more) {
    const i = proposals.length;
    const start = r.pos;
    const h = readGenericHeader(r, `sa.proposal[${i}]`);
    if (h.nextPayload !== PayloadType.PROPOSAL && h.nextPayload !== PayloadType.NONE) {
      r.fail(`sa.proposal[${i}].next_payload`, `a proposal is followed by proposal (2) or nothing (0), not ${h.nextPayload}`, start);
    }
    proposals.push(readProposalBody(r.sub(h.length - GENERIC_PAYLOAD_HEADER_LENGTH, `sa.proposal[${i}]`)));
    more = h.nextPayload === PayloadType.PROPOSAL;
    if (more && r.remaining === 0) r.fail(`sa.proposal[${i}].next_payload`, 'announces another proposal but the SA payload ends here', start);
  }
  if (r.remaining > 0) r.fail('sa.proposal', `${r.remaining} bytes after the last proposal`);
  return { doi, situation, proposals };
}

export function saBodyLength(sa: SaPayload): number {
  if (sa.opaque) return 4 + sa.opaque.length;
  let n = 8;
  for (const p of sa.proposals) n += GENERIC_PAYLOAD_HEADER_LENGTH + proposalBodyLength(p);
  return n;
}

export function writeSaBody(sa: SaPayload, out: Uint8Array, offset: number): number {
  const w = new ByteWriter(out, offset);
  w.u32(sa.doi);
  if (sa.opaque) {
    assert(sa.situation === undefined && sa.proposals.length === 0, 'an SA with opaque contents has no situation or proposals');
    w.bytes(sa.opaque);
    return w.pos;
  }
  assert(sa.situation !== undefined && saIsStructured(sa.doi, sa.situation), 'a decoded SA needs the IPsec DOI and a plain situation');
  w.u32(sa.situation);
  let pos = w.pos;
  sa.proposals.forEach((p, i) => {
    const len = GENERIC_PAYLOAD_HEADER_LENGTH + proposalBodyLength(p);
    writeGenericHeader(out, pos, i + 1 < sa.proposals.length ? PayloadType.PROPOSAL : PayloadType.NONE, len);
    pos = writeProposalBody(p, out, pos + GENERIC_PAYLOAD_HEADER_LENGTH);
  });
  return pos;
}

export const SaBodyCodec: Codec<SaPayload> = {
  decode(buf: Uint8Array, base = 0): SaPayload {
    return readSaBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: saBodyLength,
  encode(sa: SaPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(saBodyLength(sa), out, offset);
    writeSaBody(sa, t, 0);
    return t;
  },
};

export const SaPayloadCodec = framed('sa', SaBodyCodec);
