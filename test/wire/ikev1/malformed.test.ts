/**
 * Hostile and broken input: the malformed captures of tcpdump's and Openswan's suites, a
 * constructed pointer loop, and fuzzing. The decoders may only ever return or throw
 * DecodeError; the lenient decoder never throws; nothing hangs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import type { Codec } from '../../../src/wire/codec.ts';
import { decodeIsakmpLenient, decodePayloadChain, IsakmpMessageCodec } from '../../../src/wire/ikev1/message.ts';
import { CertRequestPayloadCodec } from '../../../src/wire/ikev1/payloads/cert-request.ts';
import { CertPayloadCodec } from '../../../src/wire/ikev1/payloads/cert.ts';
import { DeletePayloadCodec } from '../../../src/wire/ikev1/payloads/delete.ts';
import { FragmentPayloadCodec } from '../../../src/wire/ikev1/payloads/fragment.ts';
import { IdPayloadCodec } from '../../../src/wire/ikev1/payloads/id.ts';
import { ModeCfgPayloadCodec } from '../../../src/wire/ikev1/payloads/mode-cfg.ts';
import { NatOaPayloadCodec } from '../../../src/wire/ikev1/payloads/nat-oa.ts';
import { NotificationPayloadCodec } from '../../../src/wire/ikev1/payloads/notification.ts';
import { ProposalPayloadCodec } from '../../../src/wire/ikev1/payloads/proposal.ts';
import { SaPayloadCodec } from '../../../src/wire/ikev1/payloads/sa.ts';
import { TransformPayloadCodec } from '../../../src/wire/ikev1/payloads/transform.ts';
import { capture, ikeDatagrams } from '../../helpers/capture-udp.ts';
import { thrownBy } from '../../helpers/roundtrip.ts';
import { datagrams, frame, GOOD_CAPTURES, MALFORMED_CAPTURES } from './fixtures.ts';

/** Runs fn; passes when it returns or throws a DecodeError, fails on anything else. */
function onlyDecodeErrors(fn: () => unknown): DecodeError | undefined {
  const e = thrownBy(fn);
  if (e !== undefined && !(e instanceof DecodeError)) throw new Error(`not a DecodeError: ${String(e)}`, { cause: e });
  return e;
}

/** Strict decode, lenient decode, and the chain after the header must all behave. */
function exercise(bytes: Uint8Array, base = 0): { strict: DecodeError | undefined } {
  const strict = onlyDecodeErrors(() => IsakmpMessageCodec.decode(bytes, base));
  const lenient = decodeIsakmpLenient(bytes, base);
  expect(lenient.errors.length === 0).toBe(strict === undefined);
  for (const e of lenient.errors) expect(e).toBeInstanceOf(DecodeError);
  if (bytes.length >= 28) onlyDecodeErrors(() => decodePayloadChain(bytes.subarray(28), bytes[16]!, base + 28));
  return { strict };
}

describe('malformed captures', () => {
  it.each(MALFORMED_CAPTURES)('%s: DecodeError or a decode, never another exception', (cap) => {
    const all = ikeDatagrams(capture(cap), { all: true });
    for (const d of all) exercise(d.ike, d.ikeOffset);
  });

  it('isakmp-pointer-loop.pcap: header length 0, then a HASH payload of 2 bytes: terminates with errors', () => {
    const d = datagrams('tcpdump/isakmp-pointer-loop.pcap')[0]!;
    const { strict } = exercise(d.ike, d.ikeOffset);
    expect([strict!.field, strict!.offset]).toEqual(['length', 42 + 24]);
    const r = decodeIsakmpLenient(d.ike, d.ikeOffset);
    expect(r.errors.map((e) => e.field)).toEqual(['length', 'payload[0].header']);
    expect(r.payloads).toEqual([]);
  });

  it('isakmp-no-none-np.pcapng: the chain runs past header.length (84) and is cut there', () => {
    const d = datagrams('tcpdump/isakmp-no-none-np.pcapng')[0]!;
    const { strict } = exercise(d.ike);
    expect([strict!.field, strict!.offset]).toEqual(['payload[2].header', 84]);
    const r = decodeIsakmpLenient(d.ike);
    expect(r.payloads.map((p) => p.kind)).toEqual(['notification', 'notification']);
  });

  it('isakmpv1-attr-oobr.pcap: a transform whose attributes are cut, kept as malformed', () => {
    const d = datagrams('tcpdump/isakmpv1-attr-oobr.pcap')[0]!;
    const r = decodeIsakmpLenient(d.ike, d.ikeOffset);
    expect(r.errors[0]!.field).toBe('length');
    expect(r.payloads[0]!.kind).toBe('malformed');
    const e = r.errors[1]!;
    expect(e.field).toBe('transform.attribute[1].length');
    expect(e.offset).toBe(d.ikeOffset + 44);
  });

  it('ikev1_id_ipv6_addr_subnet-oobr.pcap: the ID is malformed, then the chain runs out', () => {
    const d = datagrams('tcpdump/ikev1_id_ipv6_addr_subnet-oobr.pcap')[0]!;
    const r = decodeIsakmpLenient(d.ike, d.ikeOffset);
    expect(r.errors.map((e) => e.field)).toEqual(['length', 'id.data', 'payload[1].length']);
    expect(r.payloads.map((p) => p.kind)).toEqual(['malformed']);
  });

  it('isakmp-delete-segfault, isakmp-ikev1_n_print-oobr, isakmp-crash1: not version 1, stopped at the version byte', () => {
    for (const cap of ['tcpdump/isakmp-delete-segfault.pcap', 'tcpdump/isakmp-ikev1_n_print-oobr.pcap', 'openswan/klips-inputs/isakmp-crash1.pcap']) {
      for (const d of datagrams(cap)) {
        const e = exercise(d.ike).strict!;
        expect([e.field, e.offset], cap).toEqual(['version', 17]);
      }
    }
  });

  it('isakmp-identification-segfault.pcap is well formed (a 248-byte FQDN) and decodes', () => {
    expect(exercise(frame('tcpdump/isakmp-identification-segfault.pcap', 1)).strict).toBeUndefined();
  });

  it('isakmp-rfc3948-oobr and isakmp-3948-oobr-2 carry no ISAKMP (cut before the marker); their bytes still only give DecodeError', () => {
    for (const cap of ['tcpdump/isakmp-rfc3948-oobr.pcap', 'tcpdump/isakmp-3948-oobr-2.pcap']) {
      expect(datagrams(cap)).toEqual([]);
      const raw = ikeDatagrams(capture(cap), { all: true });
      expect(raw.length).toBe(1);
      expect(exercise(raw[0]!.ike).strict).toBeInstanceOf(DecodeError);
    }
  });
});

describe('pointer loops', () => {
  const header = (next: number, length: number) =>
    fromHex(`0102030405060708 0000000000000000 ${next.toString(16).padStart(2, '0')} 10 02 00 00000000 ${length.toString(16).padStart(8, '0')}`);

  it('a zero payload length is a DecodeError, not a loop', () => {
    const m = concatBytes(header(8, 32), fromHex('08 00 00 00'));
    const e = thrownBy(() => IsakmpMessageCodec.decode(m)) as DecodeError;
    expect([e.field, e.offset]).toEqual(['payload[0].length', 30]);
  });

  it('a long self-referencing chain of 4-byte payloads ends at header.length', () => {
    const links = new Uint8Array(4 * 10000);
    for (let i = 0; i < 10000; i++) links.set([8, 0, 0, 4], i * 4);
    const m = concatBytes(header(8, 28 + links.length), links);
    const e = thrownBy(() => IsakmpMessageCodec.decode(m)) as DecodeError;
    expect(e.field).toBe('payload[10000].header');
    const r = decodeIsakmpLenient(m);
    expect(r.payloads.length).toBe(10000);
    links[links.length - 4] = 0; // the last one ends the chain
    expect(IsakmpMessageCodec.decode(concatBytes(header(8, 28 + links.length), links)).payloads.length).toBe(10000);
  });
});

describe('fuzzing (fast-check)', () => {
  const real = GOOD_CAPTURES.flatMap((c) => datagrams(c).map((d) => d.ike));

  it('arbitrary bytes only ever give DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(1000), (bytes, base) => {
        exercise(bytes, base);
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bytes behind a valid IKEv1 header only ever give DecodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (next, body) => {
        const h = fromHex(`0102030405060708 0000000000000000 00 10 02 00 00000000 00000000`);
        h[16] = next;
        new DataView(h.buffer).setUint32(24, 28 + body.length);
        exercise(concatBytes(h, body));
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated real messages only ever give DecodeError', () => {
    const mutation = fc.record({
      msg: fc.integer({ min: 0, max: real.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ msg, edits, cut }) => {
        const m = real[msg]!.slice();
        for (const [at, v] of edits) m[at % m.length] = v;
        exercise(cut === undefined ? m : m.subarray(0, cut % (m.length + 1)));
      }),
      { numRuns: 3000 },
    );
  });

  it('every payload codec only ever gives DecodeError on arbitrary bytes', () => {
    const codecs: Codec<unknown>[] = [
      SaPayloadCodec, ProposalPayloadCodec, TransformPayloadCodec, IdPayloadCodec, NotificationPayloadCodec,
      DeletePayloadCodec, NatOaPayloadCodec, ModeCfgPayloadCodec, FragmentPayloadCodec, CertPayloadCodec,
      CertRequestPayloadCodec,
    ] as Codec<unknown>[];
    fc.assert(
      fc.property(fc.constantFrom(...codecs), fc.uint8Array({ maxLength: 80 }), (codec, bytes) => {
        onlyDecodeErrors(() => codec.decode(bytes, 3));
      }),
      { numRuns: 2000 },
    );
  });
});
