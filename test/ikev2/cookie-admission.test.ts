/**
 * Responder admission of IKE_SA_INIT (admission.ts): the COOKIE threshold and its
 * calm-down, the per-peer block threshold, the overall half-open limit, half-open
 * expiry through the engine's timer, and the cookie secret's versions.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, endpoint, type Micros } from '../../src/core/index.ts';
import { IkeEndpoint, type IkeEndpointConfig, type IkeEvent } from '../../src/ikev2/index.ts';
import type { Transmit } from '../../src/ikev2/task-manager.ts';
import { NotifyType, PayloadType } from '../../src/wire/ike/constants.ts';
import { decodeMessage, encodeMessage } from '../../src/wire/ike/message.ts';
import { notifiesOfType } from '../../src/wire/ike/payload.ts';
import { makeNotify } from '../../src/wire/ike/payloads/notify.ts';
import { RSP_ADDR, labConfigs, sec } from '../helpers/engine-pair.ts';

/** A genuine IKE_SA_INIT request (port 500, no marker); copies get their own SPIi. */
const TEMPLATE = (() => {
  const ini = new IkeEndpoint({ rng: new SeededRng(7) });
  ini.initiate(labConfigs({ nat: false }).initiator, 0);
  return ini.pollTransmit()!.payload;
})();

function request(spi: number, cookie?: Uint8Array): Uint8Array {
  const b = new Uint8Array(TEMPLATE);
  new DataView(b.buffer).setUint32(4, spi);
  if (!cookie) return b;
  const m = decodeMessage(b);
  return encodeMessage({ header: m.header, payloads: [makeNotify(NotifyType.COOKIE, cookie), ...m.payloads] });
}

class Responder {
  readonly e: IkeEndpoint;
  readonly events: IkeEvent[] = [];
  readonly sent: Transmit[] = [];
  constructor(config: Omit<IkeEndpointConfig, 'peers'>, seed = 11) {
    this.e = new IkeEndpoint({ rng: new SeededRng(seed), config: { ...config, peers: [labConfigs().responder] } });
  }
  /** Feeds one datagram and returns what came out of it. */
  send(payload: Uint8Array, src: string, now: Micros, port = 500): { events: IkeEvent[]; out: Transmit[] } {
    this.e.handleDatagram({ src: endpoint(src, port), dst: endpoint(RSP_ADDR, 500), payload }, now);
    return this.drain();
  }
  tick(now: Micros): { events: IkeEvent[]; out: Transmit[] } {
    this.e.handleTimeout(now);
    return this.drain();
  }
  private drain(): { events: IkeEvent[]; out: Transmit[] } {
    const events: IkeEvent[] = [];
    const out: Transmit[] = [];
    for (let ev = this.e.pollEvent(); ev; ev = this.e.pollEvent()) events.push(ev);
    for (let t = this.e.pollTransmit(); t; t = this.e.pollTransmit()) out.push(t);
    this.events.push(...events);
    this.sent.push(...out);
    return { events, out };
  }
}

/** The COOKIE of a responder's answer, or undefined when it is a real IKE_SA_INIT response. */
function cookieOf(t: Transmit): Uint8Array | undefined {
  return notifiesOfType(decodeMessage(t.payload).payloads, NotifyType.COOKIE)[0]?.data;
}

function payloadKinds(t: Transmit): string[] {
  return decodeMessage(t.payload).payloads.map((p) => (p.type === PayloadType.N ? `N(${p.notifyType})` : String(p.type)));
}

describe('COOKIE threshold', () => {
  it('keeps state for requests below the threshold, then answers with a COOKIE and keeps nothing, computes no DH', () => {
    const r = new Responder({ cookieThreshold: 3, blockThreshold: 0 });
    for (let i = 0; i < 3; i++) {
      const { out } = r.send(request(0x1000 + i), `203.0.113.${10 + i}`, sec(i));
      expect(out).toHaveLength(1);
      expect(cookieOf(out[0]!)).toBeUndefined();
      expect(payloadKinds(out[0]!).slice(0, 3)).toEqual(['33', '34', '40']); // SA, KE, Nonce
    }
    expect(r.e.admissionStats).toMatchObject({ halfOpen: 3, halfOpenPeak: 3, dhComputations: 3, cookiesSent: 0, cookieMode: false });
    const { events, out } = r.send(request(0x2000), '203.0.113.50', sec(3));
    expect(out).toHaveLength(1);
    expect(payloadKinds(out[0]!)).toEqual([`N(${NotifyType.COOKIE})`]);
    expect(cookieOf(out[0]!)).toHaveLength(32);
    const mode = events.filter((e) => e.type === 'cookie-mode');
    expect(mode).toMatchObject([{ on: true, halfOpen: 3, at: sec(3) }]);
    expect(events.filter((e) => e.type === 'init-rejected').map((e) => (e.type === 'init-rejected' ? e.notifyName : ''))).toEqual(['COOKIE']);
    // 500 more without a cookie: one COOKIE each, no SA, no SPI, no DH.
    for (let i = 0; i < 500; i++) r.send(request(0x3000 + i), `198.18.${i >> 8}.${i & 0xff}`, sec(3) + i);
    expect(r.e.saIds()).toHaveLength(3);
    expect(r.e.admissionStats).toMatchObject({ halfOpen: 3, dhComputations: 3, cookiesSent: 501, cookieMode: true });
  });

  it('admits the request that returns the COOKIE first, with everything else unchanged', () => {
    const r = new Responder({ cookieThreshold: 0 });
    const { out } = r.send(request(0x10), '203.0.113.10', 0);
    const cookie = cookieOf(out[0]!)!;
    expect(cookie[0]).toBe(1); // version of the first secret
    const again = r.send(request(0x10, cookie), '203.0.113.10', sec(1));
    expect(cookieOf(again.out[0]!)).toBeUndefined();
    expect(r.e.saIds()).toHaveLength(1);
    expect(r.e.admissionStats).toMatchObject({ cookiesSent: 1, cookiesAccepted: 1, cookiesInvalid: 0, dhComputations: 1, halfOpen: 1 });
  });

  it('refuses a forged COOKIE, and one made for another address or SPI, with a fresh COOKIE and no state', () => {
    const r = new Responder({ cookieThreshold: 0 });
    const cookie = cookieOf(r.send(request(0x10), '203.0.113.10', 0).out[0]!)!;
    const flipped = new Uint8Array(cookie);
    flipped[20]! ^= 1;
    const tries: [Uint8Array, string][] = [
      [request(0x10, flipped), '203.0.113.10'],
      [request(0x10, cookie), '203.0.113.11'],
      [request(0x11, cookie), '203.0.113.10'],
      [request(0x10, cookie.subarray(0, 31)), '203.0.113.10'],
    ];
    for (const [b, src] of tries) {
      const { out, events } = r.send(b, src, sec(1));
      expect(out).toHaveLength(1);
      expect(cookieOf(out[0]!)).toHaveLength(32);
      expect(events.find((e) => e.type === 'init-rejected')).toMatchObject({ notifyName: 'COOKIE', message: expect.stringContaining('does not verify') });
    }
    expect(r.e.saIds()).toEqual([]);
    expect(r.e.admissionStats).toMatchObject({ cookiesInvalid: 4, cookiesAccepted: 0, dhComputations: 0 });
  });

  it('stays in COOKIE mode for the calm-down after half-open SAs expire, then leaves it', () => {
    const r = new Responder({ cookieThreshold: 2, blockThreshold: 0, halfOpenTimeout: '30s' });
    r.send(request(1), '203.0.113.1', 0);
    r.send(request(2), '203.0.113.2', 0);
    expect(cookieOf(r.send(request(3), '203.0.113.3', sec(1)).out[0]!)).toBeDefined();
    expect(cookieOf(r.send(request(4), '203.0.113.4', sec(25)).out[0]!)).toBeDefined();
    // The engine's timer: the half-open SAs are due at 30 s.
    expect(r.e.pollTimeout()).toBe(sec(30));
    const expired = r.tick(sec(30)).events.filter((e) => e.type === 'sa-deleted');
    expect(expired.map((e) => (e.type === 'sa-deleted' ? e.reason : ''))).toEqual(['half-open-timeout', 'half-open-timeout']);
    expect(r.e.saIds()).toEqual([]);
    expect(r.e.admissionStats.halfOpen).toBe(0);
    // None half-open, but one request needed a COOKIE less than 10 s ago: still demanded.
    expect(cookieOf(r.send(request(5), '203.0.113.5', sec(31)).out[0]!)).toBeDefined();
    expect(cookieOf(r.send(request(6), '203.0.113.6', sec(40)).out[0]!)).toBeDefined();
    // 10 s after the last one that did, cookies are no longer asked for.
    const off = r.send(request(7), '203.0.113.7', sec(50));
    expect(cookieOf(off.out[0]!)).toBeUndefined();
    expect(off.events.filter((e) => e.type === 'cookie-mode')).toMatchObject([{ on: false, halfOpen: 0, at: sec(50) }]);
    expect(r.e.saIds()).toHaveLength(1);
  });
});

describe('half-open bounds', () => {
  it('drops IKE_SA_INIT beyond the half-open limit with an event, keeping nothing and computing no DH', () => {
    const r = new Responder({ cookieThreshold: 1000, blockThreshold: 0, halfOpenLimit: 5 });
    for (let i = 0; i < 12; i++) r.send(request(0x100 + i), `203.0.113.${i + 1}`, sec(i));
    expect(r.e.saIds()).toHaveLength(5);
    const drops = r.events.filter((e) => e.type === 'datagram-dropped');
    expect(drops).toHaveLength(7);
    expect(drops.every((e) => e.type === 'datagram-dropped' && e.reason === 'half-open-limit' && e.message === '5 IKE SAs are half-open (limit 5)')).toBe(true);
    expect(r.sent).toHaveLength(5); // no answer to a dropped request
    expect(r.e.admissionStats).toMatchObject({ halfOpen: 5, halfOpenPeak: 5, dhComputations: 5, overLimit: 7 });
  });

  it('ignores a source address that already has blockThreshold half-open SAs; other sources still get in', () => {
    const r = new Responder({ blockThreshold: 5 });
    for (let i = 0; i < 8; i++) r.send(request(0x200 + i), '203.0.113.66', sec(1), 1024 + i);
    const drops = r.events.filter((e) => e.type === 'datagram-dropped');
    expect(drops.map((e) => (e.type === 'datagram-dropped' ? e.reason : ''))).toEqual(['peer-half-open-limit', 'peer-half-open-limit', 'peer-half-open-limit']);
    expect(r.e.saIds()).toHaveLength(5);
    r.send(request(0x300), '203.0.113.67', sec(1));
    expect(r.e.saIds()).toHaveLength(6);
    expect(r.e.admissionStats).toMatchObject({ blockedPerPeer: 3, dhComputations: 6 });
  });

  it('an IKE_SA_INIT retransmission gets the stored response and creates nothing', () => {
    const r = new Responder({});
    const b = request(0x400);
    const first = r.send(b, '203.0.113.9', 0).out[0]!;
    const again = r.send(b, '203.0.113.9', sec(2)).out[0]!;
    expect(again.payload).toEqual(first.payload);
    expect(r.e.saIds()).toHaveLength(1);
    expect(r.e.admissionStats.dhComputations).toBe(1);
  });
});

describe('cookie secret', () => {
  it('is replaced after cookieSecretUses cookies; the previous version still verifies, older ones do not', () => {
    const r = new Responder({ cookieThreshold: 0, cookieSecretUses: 2 });
    const c1 = cookieOf(r.send(request(1), '203.0.113.1', 0).out[0]!)!;
    const c2 = cookieOf(r.send(request(2), '203.0.113.2', 0).out[0]!)!;
    expect(r.e.admissionStats.cookieSecretVersion).toBe(2);
    const c3 = cookieOf(r.send(request(3), '203.0.113.3', 0).out[0]!)!;
    expect([c1[0], c2[0], c3[0]]).toEqual([1, 1, 2]);
    // Version 1 is the previous secret: still good.
    expect(cookieOf(r.send(request(2, c2), '203.0.113.2', 1).out[0]!)).toBeUndefined();
    cookieOf(r.send(request(4), '203.0.113.4', 2).out[0]!); // second use of version 2 → version 3
    expect(r.e.admissionStats).toMatchObject({ cookieSecretVersion: 3, cookieSecretRotations: 2 });
    // Version 2 is now the previous one, version 1 is gone.
    expect(cookieOf(r.send(request(3, c3), '203.0.113.3', 3).out[0]!)).toBeUndefined();
    const c5 = cookieOf(r.send(request(5), '203.0.113.5', 4).out[0]!)!;
    r.send(request(6), '203.0.113.6', 4); // → version 4
    const stale = r.send(request(1, c1), '203.0.113.1', 5);
    expect(cookieOf(stale.out[0]!)).toBeDefined();
    expect(c5[0]).toBe(3);
  });

  it('is replaced when older than cookieSecretLifetime; a cookie two lifetimes old is refused', () => {
    const r = new Responder({ cookieThreshold: 0, cookieSecretLifetime: '5s' });
    const c = cookieOf(r.send(request(1), '203.0.113.1', 0).out[0]!)!;
    const same = cookieOf(r.send(request(2), '203.0.113.1', sec(4)).out[0]!)!;
    expect(same[0]).toBe(c[0]);
    // At 6 s the secret is replaced; the old cookie is the previous version and verifies.
    expect(cookieOf(r.send(request(1, c), '203.0.113.1', sec(6)).out[0]!)).toBeUndefined();
    expect(r.e.admissionStats.cookieSecretVersion).toBe(2);
    // At 17 s the version-2 secret is 11 s old: both are replaced and version 2 cookies fail.
    const c2 = cookieOf(r.send(request(3), '203.0.113.3', sec(7)).out[0]!)!;
    expect(c2[0]).toBe(2);
    const late = r.send(request(3, c2), '203.0.113.3', sec(17));
    expect(cookieOf(late.out[0]!)?.[0]).toBe(4);
    expect(r.e.admissionStats.cookiesInvalid).toBe(1);
  });

  it('rotateCookieSecret() replaces it on demand', () => {
    const r = new Responder({ cookieThreshold: 0 });
    const c = cookieOf(r.send(request(1), '203.0.113.1', 0).out[0]!)!;
    r.e.rotateCookieSecret(sec(1));
    const d = cookieOf(r.send(request(1), '203.0.113.1', sec(1)).out[0]!)!;
    expect([c[0], d[0]]).toEqual([1, 2]);
    expect(Buffer.from(d).equals(Buffer.from(c))).toBe(false);
  });
});

describe('configuration', () => {
  it('rejects bad admission settings naming the field', () => {
    const make = (config: Omit<IkeEndpointConfig, 'peers'>) => () => new IkeEndpoint({ rng: new SeededRng(1), config });
    expect(make({ blockThreshold: -1 })).toThrow('blockThreshold: must be an integer of at least 0, got -1');
    expect(make({ halfOpenLimit: 1.5 })).toThrow('halfOpenLimit: must be an integer of at least 0, got 1.5');
    expect(make({ cookieSecretUses: 0 })).toThrow('cookieSecretUses: must be an integer of at least 1, got 0');
    expect(make({ cookieCalmdown: 'soon' })).toThrow('cookieCalmdown: not a duration');
  });
});
