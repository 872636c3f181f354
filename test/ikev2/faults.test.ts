/**
 * The handshake under seeded network faults, and determinism: the same seed gives
 * byte-identical datagrams at identical times.
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual, toHex } from '../../src/core/index.ts';
import { LAB_NAT, Pair, labConfigs, sec, type PairOptions } from '../helpers/engine-pair.ts';

function pair(seed: number, extra: Partial<PairOptions> = {}, over: Parameters<typeof labConfigs>[0] = {}): Pair {
  const c = labConfigs(over);
  return new Pair({ seed, initiator: c.initiator, responder: [c.responder], nat: LAB_NAT, ...extra });
}

function keysAgree(p: Pair): boolean {
  const ci = p.eventsOf('child-established', 'ini');
  const cr = p.eventsOf('child-established', 'rsp');
  return ci.length === 1 && cr.length === 1 && bytesEqual(ci[0]!.encKeyOut, cr[0]!.encKeyIn) && ci[0]!.spiOut === cr[0]!.spiIn;
}

describe('30 % loss each way', () => {
  it('100 of 100 handshakes complete (seeds 1..100), each with one SA per side and agreeing keys', () => {
    let retransmits = 0;
    let lost = 0;
    const completed: number[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const p = pair(
        seed,
        { faults: { toRsp: { loss: 0.3 }, toIni: { loss: 0.3 } }, responderEndpoint: { halfOpenTimeout: '1h' } },
        { ini: { retransmit: { tries: 12 } } },
      );
      p.start();
      p.runUntil(() => p.established(), sec(3600));
      if (p.established() && keysAgree(p) && p.eventsOf('sa-established').length === 2) completed.push(seed);
      retransmits += p.eventsOf('retransmit').length;
      lost += p.wire.filter((w) => w.dropped === 'loss').length;
      expect(p.eventsOf('datagram-dropped').filter((d) => d.reason === 'internal-error' || d.reason === 'integrity')).toEqual([]);
    }
    expect(completed).toHaveLength(100);
    // The faults were real: plenty of datagrams were lost and retransmitted.
    expect(lost).toBeGreaterThan(100);
    expect(retransmits).toBeGreaterThan(50);
  });
});

describe('duplicated and reordered datagrams', () => {
  it('do not break state through handshake, CHILD_SA rekey, liveness checks and delete', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const p = pair(seed, {
        faults: {
          toRsp: { duplicate: 0.5, reorder: 0.5, reorderDelay: sec(0.02) },
          toIni: { duplicate: 0.5, reorder: 0.5, reorderDelay: sec(0.02) },
        },
      });
      const id = p.start();
      p.runUntil(() => p.established(), sec(60));
      expect(p.established()).toBe(true);
      expect(keysAgree(p)).toBe(true);
      const child = p.eventsOf('child-established', 'ini')[0]!.childId;
      p.act('ini', (e, now) => e.rekeyChild(id, child, now));
      p.runUntil(() => p.eventsOf('child-deleted').length === 2, p.now + sec(60));
      p.act('ini', (e, now) => e.checkLiveness(id, now));
      p.act('ini', (e, now) => e.deleteSa(id, now));
      p.runUntil(() => p.eventsOf('sa-deleted').length === 2, p.now + sec(60));
      expect(p.eventsOf('sa-established')).toHaveLength(2);
      expect(p.eventsOf('child-rekeyed').map((e) => e.oldChildId)).toHaveLength(2);
      expect(p.eventsOf('sa-deleted').map((e) => e.reason).sort()).toEqual(['local', 'remote']);
      const drops = p.eventsOf('datagram-dropped');
      expect(drops.filter((d) => !['unexpected-message-id', 'invalid-message-id', 'unknown-sa'].includes(d.reason))).toEqual([]);
      // A duplicated request is answered again from the stored response.
      if (p.eventsOf('message-received', 'rsp').some((m) => m.retransmission)) {
        expect(p.eventsOf('message-sent', 'rsp').some((m) => m.retransmission)).toBe(true);
      }
    }
  });
});

describe('corruption', () => {
  it('flipped bits never crash an endpoint: the damage is dropped or ends the SA cleanly, and most handshakes survive', () => {
    let established = 0;
    let integrity = 0;
    let corrupted = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const p = pair(seed, { faults: { toRsp: { corrupt: 0.15 }, toIni: { corrupt: 0.15 } } }, { ini: { retransmit: { tries: 8 } } });
      p.start();
      p.runUntil(() => p.established() || p.has('sa-deleted', 'ini'), sec(3600));
      corrupted += p.wire.filter((w) => w.corrupted).length;
      const drops = p.eventsOf('datagram-dropped');
      integrity += drops.filter((d) => d.reason === 'integrity').length;
      expect(drops.filter((d) => d.reason === 'internal-error')).toEqual([]);
      if (p.established()) {
        established++;
        expect(keysAgree(p)).toBe(true);
      } else {
        // A damaged IKE_SA_INIT leaves the two sides with different keys: nothing verifies any more.
        expect(p.eventsOf('sa-deleted', 'ini').map((e) => e.reason)[0]).toMatch(/^(timeout|failed|auth-failed)$/);
      }
    }
    expect(corrupted).toBeGreaterThan(10);
    expect(integrity).toBeGreaterThan(0);
    expect(established).toBeGreaterThan(25);
  });
});

describe('determinism', () => {
  function run(seed: number): Pair {
    const p = pair(seed, { faults: { toRsp: { loss: 0.2, duplicate: 0.2 }, toIni: { loss: 0.2, reorder: 0.3 } } }, { ini: { dpdDelay: '30s', rekey: { child: '50s', jitter: '5s' } } });
    p.start();
    p.runTo(sec(120));
    return p;
  }

  it('the same seed gives byte-identical datagrams at the same times', () => {
    const a = run(42);
    const b = run(42);
    expect(a.wire.length).toBeGreaterThan(10);
    expect(b.wire.map((w) => [w.at, w.from, w.kind, toHex(w.payload), w.dropped ?? ''])).toEqual(
      a.wire.map((w) => [w.at, w.from, w.kind, toHex(w.payload), w.dropped ?? '']),
    );
    expect(b.events.map((e) => `${e.side} ${e.event.at} ${e.event.type}`)).toEqual(a.events.map((e) => `${e.side} ${e.event.at} ${e.event.type}`));
  });

  it('another seed gives other SPIs, nonces and keys', () => {
    const a = run(42);
    const c = run(43);
    expect(toHex(c.wire[0]!.payload)).not.toBe(toHex(a.wire[0]!.payload));
  });
});
