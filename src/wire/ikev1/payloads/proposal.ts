/**
 * Proposal payload (RFC 2408 §3.5), found inside an SA payload:
 *
 *   generic header (next payload 2 = another proposal follows, 0 = last)
 *   Proposal # (1) | Protocol-Id (1) | SPI Size (1) | # of Transforms (1) | SPI (SPI Size)
 *   Transform payloads, chained by their own next-payload (3 / 0) and length fields
 *
 * The transform chain must fill the proposal exactly and hold # of Transforms entries.
 */
import { ByteReader } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { fixed, readFixed, u8, writeFixed } from '../../layout.ts';
import { GENERIC_PAYLOAD_HEADER_LENGTH, PayloadType } from '../constants.ts';
import { framed, IKEV1_LAYER, readGenericHeader, writeGenericHeader } from '../generic.ts';
import { readTransformBody, transformBodyLength, writeTransformBody, type Transform } from './transform.ts';

export interface Proposal {
  readonly proposalNumber: number;
  /** ProtocolId: ISAKMP 1, AH 2, ESP 3, IPCOMP 4. */
  readonly protocolId: number;
  /** 0 bytes in phase 1 (usually), 4 for ESP/AH, 2 for IPCOMP. */
  readonly spi: Uint8Array;
  readonly transforms: readonly Transform[];
}

interface ProposalFixed {
  proposalNumber: number;
  protocolId: number;
  spiSize: number;
  transformCount: number;
}

/** The 4 fixed bytes after the generic header. */
export const PROPOSAL_FIXED = fixed<ProposalFixed>([u8('proposalNumber'), u8('protocolId'), u8('spiSize'), u8('transformCount')]);

/** Reads a proposal body from the reader (which must end where the body ends). */
export function readProposalBody(r: ByteReader): Proposal {
  const countAt = r.pos + 3;
  const f = readFixed(PROPOSAL_FIXED, r, 'proposal.fixed');
  const spi = r.bytes(f.spiSize, 'proposal.spi').slice();
  const transforms: Transform[] = [];
  let more = r.remaining > 0;
  while (more) {
    const i = transforms.length;
    const start = r.pos;
    const h = readGenericHeader(r, `proposal.transform[${i}]`);
    if (h.nextPayload !== PayloadType.TRANSFORM && h.nextPayload !== PayloadType.NONE) {
      r.fail(`proposal.transform[${i}].next_payload`, `a transform is followed by transform (3) or nothing (0), not ${h.nextPayload}`, start);
    }
    const body = r.sub(h.length - GENERIC_PAYLOAD_HEADER_LENGTH, `proposal.transform[${i}]`);
    transforms.push(readTransformBody(body));
    more = h.nextPayload === PayloadType.TRANSFORM;
    if (more && r.remaining === 0) r.fail(`proposal.transform[${i}].next_payload`, 'announces another transform but the proposal ends here', start);
  }
  if (r.remaining > 0) r.fail('proposal.transform', `${r.remaining} bytes after the last transform`);
  if (transforms.length !== f.transformCount) {
    r.fail('proposal.transform_count', `says ${f.transformCount} transform(s), the chain holds ${transforms.length}`, countAt);
  }
  return { proposalNumber: f.proposalNumber, protocolId: f.protocolId, spi, transforms };
}

export function proposalBodyLength(p: Proposal): number {
  let n = PROPOSAL_FIXED.span + p.spi.length;
  for (const t of p.transforms) n += GENERIC_PAYLOAD_HEADER_LENGTH + transformBodyLength(t);
  return n;
}

export function writeProposalBody(p: Proposal, out: Uint8Array, offset: number): number {
  assert(p.spi.length <= 0xff && p.transforms.length <= 0xff, 'proposal SPI or transform count too large');
  let pos = writeFixed<ProposalFixed>(
    PROPOSAL_FIXED,
    { proposalNumber: p.proposalNumber, protocolId: p.protocolId, spiSize: p.spi.length, transformCount: p.transforms.length },
    out,
    offset,
  );
  out.set(p.spi, pos);
  pos += p.spi.length;
  p.transforms.forEach((t, i) => {
    const len = GENERIC_PAYLOAD_HEADER_LENGTH + transformBodyLength(t);
    const next = i + 1 < p.transforms.length ? PayloadType.TRANSFORM : PayloadType.NONE;
    writeGenericHeader(out, pos, next, len);
    pos = writeTransformBody(t, out, pos + GENERIC_PAYLOAD_HEADER_LENGTH);
  });
  return pos;
}

/** Codec for a proposal body (the bytes after the generic header). */
export const ProposalBodyCodec: Codec<Proposal> = {
  decode(buf: Uint8Array, base = 0): Proposal {
    return readProposalBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: proposalBodyLength,
  encode(p: Proposal, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(proposalBodyLength(p), out, offset);
    writeProposalBody(p, t, 0);
    return t;
  },
};

/** Codec for a whole proposal payload (generic header included). */
export const ProposalPayloadCodec = framed('proposal', ProposalBodyCodec);
