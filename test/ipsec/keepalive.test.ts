/** NAT-keepalive policy (RFC 3948 §2.3, §4): driven by `now`, no timers. */
import { describe, expect, it } from 'vitest';
import { endpoint, seconds } from '../../src/core/index.ts';
import { DEFAULT_KEEPALIVE_INTERVAL, KeepalivePolicy, nextKeepaliveAt } from '../../src/ipsec/keepalive.ts';
import { classifyUdpPayload } from '../../src/wire/udp-encap.ts';
import { readPcap } from '../helpers/pcap-frames.ts';
import { INNER_A, INNER_B, SUITES, icmpEcho, makePair } from './fixtures.ts';

const PEER = endpoint('198.51.100.2', 4500);

describe('KeepalivePolicy', () => {
  it('the default interval is 20 s and nextKeepaliveAt is the last send plus the interval', () => {
    expect(DEFAULT_KEEPALIVE_INTERVAL).toBe(20_000_000);
    expect(nextKeepaliveAt(seconds(3), seconds(20))).toBe(seconds(23));
  });

  it('is due exactly one interval after the last send, not a microsecond before', () => {
    const k = new KeepalivePolicy({ natHere: true, peer: PEER, startAt: seconds(100) });
    expect(k.nextKeepaliveAt()).toBe(seconds(120));
    expect(k.isDue(seconds(120) - 1)).toBe(false);
    expect(k.poll(seconds(120) - 1)).toBeUndefined();
    const ka = k.poll(seconds(120));
    expect(ka).toBeDefined();
    expect([...ka!.payload]).toEqual([0xff]);
    expect(ka!.to).toEqual(PEER);
    expect(classifyUdpPayload(4500, 4500, ka!.payload).kind).toBe('keepalive');
    // The keepalive itself counts as a send.
    expect(k.nextKeepaliveAt()).toBe(seconds(140));
    expect(k.poll(seconds(121))).toBeUndefined();
  });

  it('traffic postpones it: any packet sent on the encapsulation resets the timer', () => {
    const k = new KeepalivePolicy({ natHere: true, peer: PEER, startAt: 0, interval: seconds(5) });
    k.onSent(seconds(4)); // ESP
    expect(k.isDue(seconds(5))).toBe(false);
    k.onSent(seconds(8)); // IKE on 4500
    expect(k.nextKeepaliveAt()).toBe(seconds(13));
    expect(k.poll(seconds(12))).toBeUndefined();
    expect(k.poll(seconds(13))).toBeDefined();
    // An older timestamp never moves the timer back.
    k.onSent(seconds(1));
    expect(k.lastSentAt).toBe(seconds(13));
  });

  it('a side that is not behind a NAT never sends one', () => {
    const k = new KeepalivePolicy({ natHere: false, peer: PEER, startAt: 0 });
    expect(k.nextKeepaliveAt()).toBeUndefined();
    for (const t of [0, seconds(20), seconds(3600)]) expect(k.poll(t)).toBeUndefined();
    k.setNatHere(true);
    expect(k.nextKeepaliveAt()).toBe(seconds(20));
    k.setNatHere(false);
    expect(k.isDue(seconds(1000))).toBe(false);
  });

  it('follows the peer when its endpoint floats', () => {
    const k = new KeepalivePolicy({ natHere: true, peer: PEER, startAt: 0 });
    const floated = endpoint('198.51.100.2', 31000);
    k.setPeer(floated);
    expect(k.poll(seconds(20))!.to).toEqual(floated);
  });

  it('spaces keepalives as strongSwan did in a-nat-keepalive/outside.pcap (keep_alive=5s, frames 27-30 and 33)', () => {
    const frames = readPcap('strongswan-lab/a-nat-keepalive/outside.pcap').frames.filter((f) => f.data.length === 43 && f.data[42] === 0xff);
    expect(frames.map((f) => f.number)).toEqual([27, 28, 29, 30, 33]);
    const at = frames.map((f) => f.tsSec * 1_000_000 + f.tsFrac - (frames[0]!.tsSec * 1_000_000 + frames[0]!.tsFrac));
    const k = new KeepalivePolicy({ natHere: true, peer: PEER, startAt: 0, interval: seconds(5) });
    expect(k.poll(0)).toBeUndefined();
    k.onSent(0); // frame 27 went out
    for (const t of at.slice(1)) {
      const due = k.nextKeepaliveAt()!;
      expect(Math.abs(t - due)).toBeLessThan(5_000); // charon's timer jitter is a few ms
      expect(k.poll(due)).toBeDefined();
      k.onSent(t);
    }
  });

  it('the processor tells the caller which ESP went out on the encapsulation', () => {
    const { a } = makePair({ suite: SUITES['aes128gcm16']! });
    const k = new KeepalivePolicy({ natHere: true, peer: PEER, startAt: 0 });
    const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (r.ok && r.udp) k.onSent(seconds(15));
    expect(k.nextKeepaliveAt()).toBe(seconds(35));
  });
});
