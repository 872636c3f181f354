/**
 * Replayed and forged IKE messages after a COOKIE-free handshake: each is dropped
 * with a 'datagram-dropped' event naming the reason, nothing is sent back, no state
 * changes, and the IKE SA keeps working.
 */
import { describe, expect, it } from 'vitest';
import type { Datagram, IkeEvent } from '../../src/ikev2/index.ts';
import { ExchangeType } from '../../src/wire/ike/constants.ts';
import { LAB_NAT, Pair, labConfigs, sec, type Side, type WireRecord } from '../helpers/engine-pair.ts';

function setup(): Pair {
  const c = labConfigs();
  const p = new Pair({ initiator: c.initiator, responder: [c.responder], nat: LAB_NAT });
  p.start();
  p.runUntil(() => p.established(), sec(5));
  expect(p.established()).toBe(true);
  return p;
}

/** Offset of the IKE header in a UDP payload (after the non-ESP marker off port 500). */
function ikeOffset(w: WireRecord): number {
  return w.outside.src.port !== 500 && w.outside.dst.port !== 500 ? 4 : 0;
}

function find(p: Pair, from: Side, exchange: number, response: boolean): WireRecord {
  const w = p.wire.find((r) => {
    if (r.from !== from || r.kind !== 'ike') return false;
    const o = ikeOffset(r);
    return r.payload[o + 18] === exchange && ((r.payload[o + 19]! & 0x20) !== 0) === response;
  });
  if (!w) throw new Error(`no ${exchange} ${response ? 'response' : 'request'} from ${from}`);
  return w;
}

/** The datagram as the other side received it. */
function asReceived(w: WireRecord, payload = w.payload): Datagram {
  return w.from === 'ini' ? { src: w.outside.src, dst: w.outside.dst, payload } : { src: w.inside.src, dst: w.inside.dst, payload };
}

/** Feeds a datagram to `side`; returns its events and how many datagrams it sent. */
function inject(p: Pair, side: Side, d: Datagram): { events: IkeEvent[]; sent: number } {
  const e0 = p.events.length;
  const w0 = p.wire.filter((w) => w.from === side).length;
  p.act(side, (e, now) => e.handleDatagram(d, now));
  return { events: p.events.slice(e0).filter((t) => t.side === side).map((t) => t.event), sent: p.wire.filter((w) => w.from === side).length - w0 };
}

function dropOf(r: { events: IkeEvent[] }): { reason: string; message: string } | undefined {
  const d = r.events.find((e) => e.type === 'datagram-dropped');
  return d?.type === 'datagram-dropped' ? { reason: d.reason, message: d.message } : undefined;
}

function mutated(w: WireRecord, f: (ike: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(w.payload);
  f(b.subarray(ikeOffset(w)));
  return b;
}

describe('replayed IKE messages', () => {
  it('an IKE_SA_INIT request replayed after IKE_AUTH is dropped (invalid-message-id), not answered again', () => {
    const p = setup();
    const r = inject(p, 'rsp', asReceived(find(p, 'ini', ExchangeType.IKE_SA_INIT, false)));
    expect(dropOf(r)).toEqual({ reason: 'invalid-message-id', message: 'IKE_SA_INIT request (message ID 0) replayed to an IKE SA that expects message ID 2' });
    expect(r.sent).toBe(0);
    expect(p.rsp.saIds()).toHaveLength(1);
    expect(p.rsp.admissionStats.dhComputations).toBe(1);
  });

  it('the last request is answered from the stored response; once the window moves on it is dropped (invalid-message-id)', () => {
    const p = setup();
    const auth = find(p, 'ini', ExchangeType.IKE_AUTH, false);
    const first = inject(p, 'rsp', asReceived(auth));
    expect(first.sent).toBe(1);
    expect(first.events.find((e) => e.type === 'message-sent')).toMatchObject({ exchangeName: 'IKE_AUTH', isResponse: true, retransmission: true });
    const saId = p.ini.saIds()[0]!;
    p.act('ini', (e, now) => e.checkLiveness(saId, now));
    p.runTo(p.now + sec(1));
    const later = inject(p, 'rsp', asReceived(auth));
    expect(dropOf(later)).toEqual({ reason: 'invalid-message-id', message: 'request 1 outside the window (expected 3)' });
    expect(later.sent).toBe(0);
  });

  it('a replayed IKE_AUTH response is dropped by the initiator (unexpected-message-id)', () => {
    const p = setup();
    const r = inject(p, 'ini', asReceived(find(p, 'rsp', ExchangeType.IKE_AUTH, true)));
    expect(dropOf(r)?.reason).toBe('unexpected-message-id');
    expect(dropOf(r)?.message).toBe('response 1 (IKE_AUTH) with no request outstanding');
    expect(r.sent).toBe(0);
  });
});

describe('forged IKE messages', () => {
  it('are dropped with the reason, and the IKE SA still answers a liveness check', () => {
    const p = setup();
    const auth = find(p, 'ini', ExchangeType.IKE_AUTH, false);
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['bad ICV', mutated(auth, (b) => (b[b.length - 1]! ^= 0x01)), 'integrity', /ICV|integrity|authentication/i],
      ['wrong responder SPI', mutated(auth, (b) => (b[8]! ^= 0xff)), 'unknown-sa', /^no IKE SA for SPIs/],
      ['wrong initiator SPI', mutated(auth, (b) => (b[0]! ^= 0xff)), 'unknown-sa', /^no IKE SA for SPIs/],
      ['unknown SA', mutated(auth, (b) => b.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 0)), 'unknown-sa', /^no IKE SA for SPIs 0102030405060708\/090a0b0c0d0e0f10$/],
      ['zero responder SPI', mutated(auth, (b) => b.fill(0, 8, 16)), 'unknown-sa', /^IKE_AUTH with a zero responder SPI$/],
    ];
    for (const [what, bytes, reason, message] of cases) {
      const r = inject(p, 'rsp', asReceived(auth, bytes));
      expect({ what, reason: dropOf(r)?.reason }).toEqual({ what, reason });
      expect(dropOf(r)!.message).toMatch(message);
      expect(r.sent).toBe(0);
    }
    const saId = p.ini.saIds()[0]!;
    const e0 = p.events.length;
    p.act('ini', (e, now) => e.checkLiveness(saId, now));
    p.runTo(p.now + sec(1));
    const answered = p.events.slice(e0).filter((t) => t.side === 'ini' && t.event.type === 'message-received' && t.event.exchangeName === 'INFORMATIONAL');
    expect(answered).toHaveLength(1);
    expect(p.rsp.getSa(p.rsp.saIds()[0]!)?.state).toBe('established');
  });
});
