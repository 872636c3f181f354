/**
 * Failure paths: wrong PSK (either side detecting it), no common proposal, the
 * INVALID_KE_PAYLOAD retry, COOKIEs, selectors that do not overlap, unsupported
 * critical payloads, corrupted and garbage input.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, endpoint, toHex } from '../../src/core/index.ts';
import { EncrId, IntegId } from '../../src/crypto/algorithms.ts';
import { openSkMessage, sealSkMessage } from '../../src/crypto/sk.ts';
import { IkeEndpoint } from '../../src/ikev2/index.ts';
import { ExchangeType, NotifyType, PayloadType } from '../../src/wire/ike/constants.ts';
import { decodeMessage, decodePayloadChain, encodeMessage, encodePayloadChain } from '../../src/wire/ike/message.ts';
import { notifiesOfType, type Payload } from '../../src/wire/ike/payload.ts';
import { LAB_NAT, Pair, labConfigs, sec, type PairOptions, type TapInput } from '../helpers/engine-pair.ts';

const GCM128 = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE } as const;

function pair(over: Parameters<typeof labConfigs>[0] = {}, extra: Partial<PairOptions> = {}): Pair {
  const c = labConfigs(over);
  return new Pair({ initiator: c.initiator, responder: [c.responder], nat: LAB_NAT, ...extra });
}

function ikeOf(t: { payload: Uint8Array; outside: { src: { port: number }; dst: { port: number } } }): Uint8Array {
  return t.outside.src.port !== 500 && t.outside.dst.port !== 500 ? t.payload.subarray(4) : t.payload;
}

function exchangeOf(t: TapInput): { type: number; response: boolean; messageId: number } | undefined {
  if (t.kind !== 'ike') return undefined;
  const h = decodeMessage(ikeOf(t)).header;
  return { type: h.exchangeType, response: (h.flags & 0x20) !== 0, messageId: h.messageId };
}

describe('wrong pre-shared key', () => {
  it('is answered with AUTHENTICATION_FAILED by the responder; both sides report it and drop the SA', () => {
    const p = pair({ rsp: { psk: 'not-the-lab-psk' } });
    p.start();
    p.runTo(sec(30));
    expect(p.has('sa-established')).toBe(false);
    expect(p.eventsOf('auth-failed', 'rsp').map((e) => e.side)).toEqual(['local']);
    expect(p.eventsOf('auth-failed', 'ini').map((e) => e.side)).toEqual(['peer']);
    const sent = p.eventsOf('message-sent', 'rsp').filter((e) => e.exchange === ExchangeType.IKE_AUTH);
    expect(sent.map((e) => e.payloads)).toEqual([['N(AUTHENTICATION_FAILED)']]);
    const got = p.eventsOf('message-received', 'ini').filter((e) => e.exchange === ExchangeType.IKE_AUTH);
    expect(got.map((e) => e.payloads)).toEqual([['N(AUTHENTICATION_FAILED)']]);
    expect(p.eventsOf('sa-deleted', 'ini').map((e) => [e.reason, e.notify])).toEqual([['auth-failed', NotifyType.AUTHENTICATION_FAILED]]);
    expect(p.eventsOf('sa-deleted', 'rsp').map((e) => [e.reason, e.notify])).toEqual([['auth-failed', NotifyType.AUTHENTICATION_FAILED]]);
    expect(p.ini.saIds()).toEqual([]);
    expect(p.rsp.saIds()).toEqual([]);
    expect(p.has('retransmit')).toBe(false);
  });

  it("that the initiator detects (a responder AUTH that does not verify) is reported in an INFORMATIONAL", () => {
    // The tap re-encrypts the responder's IKE_AUTH response with one AUTH bit flipped.
    let rsp: IkeEndpoint | undefined;
    const p = pair(
      {},
      {
        tap: (t) => {
          const x = exchangeOf(t);
          if (t.from !== 'rsp' || x?.type !== ExchangeType.IKE_AUTH) return undefined;
          const keys = rsp!.getSa(rsp!.saIds()[0]!)!.keys!;
          const ike = ikeOf(t);
          const opened = openSkMessage({ suite: GCM128, keyE: keys.skEr, message: ike, skOffset: 28 });
          if (!opened.ok) throw new Error('tap could not open the response');
          const inner = decodePayloadChain(opened.firstInnerPayload!, opened.plaintext).map((pl) =>
            pl.type === PayloadType.AUTH ? { ...pl, data: Uint8Array.from(pl.data, (b, i) => (i === 0 ? b ^ 1 : b)) } : pl,
          );
          const resealed = sealSkMessage({ suite: GCM128, keyE: keys.skEr, iv: opened.iv, prefix: ike.subarray(0, 32), skOffset: 28, plaintext: encodePayloadChain(inner) });
          const out = new Uint8Array(4 + resealed.length);
          out.set(resealed, 4);
          return out;
        },
      },
    );
    rsp = p.rsp;
    p.start();
    p.runTo(sec(30));
    expect(p.eventsOf('sa-established', 'rsp')).toHaveLength(1);
    expect(p.has('sa-established', 'ini')).toBe(false);
    expect(p.eventsOf('auth-failed', 'ini').map((e) => [e.side, e.message])).toEqual([['local', "the responder's AUTH does not verify with our pre-shared key"]]);
    const info = p.eventsOf('message-sent', 'ini').filter((e) => e.exchange === ExchangeType.INFORMATIONAL);
    expect(info.map((e) => [e.messageId, e.isResponse, e.payloads])).toEqual([[2, false, ['N(AUTHENTICATION_FAILED)']]]);
    expect(p.eventsOf('auth-failed', 'rsp').map((e) => e.side)).toEqual(['peer']);
    expect(p.eventsOf('sa-deleted', 'rsp').map((e) => e.reason)).toEqual(['auth-failed']);
    expect(p.eventsOf('sa-deleted', 'ini').map((e) => e.reason)).toEqual(['auth-failed']);
    expect(p.eventsOf('child-deleted', 'rsp').map((e) => e.reason)).toEqual(['ike-deleted']);
  });

  it('also fails on an identity the responder does not accept', () => {
    const p = pair({ rsp: { remoteId: 'someone-else.lab' } });
    p.start();
    p.runTo(sec(5));
    expect(p.eventsOf('auth-failed', 'rsp')[0]!.message).toBe('no connection accepts "ini.lab"');
    expect(p.eventsOf('auth-failed', 'ini').map((e) => e.side)).toEqual(['peer']);
  });
});

describe('no common proposal', () => {
  it('for IKE: NO_PROPOSAL_CHOSEN in IKE_SA_INIT, no state on the responder', () => {
    const p = pair({ ini: { ikeProposals: 'aes256gcm16-prfsha512-ecp384' }, rsp: { ikeProposals: 'aes128-sha256-modp2048' } });
    p.start();
    p.runTo(sec(30));
    expect(p.eventsOf('init-rejected', 'rsp').map((e) => e.notifyName)).toEqual(['NO_PROPOSAL_CHOSEN']);
    expect(p.eventsOf('sa-deleted', 'ini').map((e) => [e.reason, e.notify])).toEqual([['failed', NotifyType.NO_PROPOSAL_CHOSEN]]);
    expect(p.rsp.saIds()).toEqual([]);
    expect(p.wire).toHaveLength(2);
  });

  it('for ESP: the IKE SA is established, the CHILD_SA fails on both sides', () => {
    const p = pair({ ini: { espProposals: 'aes256gcm16' }, rsp: { espProposals: 'aes128-sha256' } });
    p.start();
    p.runTo(sec(5));
    expect(p.eventsOf('sa-established')).toHaveLength(2);
    expect(p.has('child-established')).toBe(false);
    expect(p.eventsOf('child-failed', 'rsp').map((e) => [e.notifyName, e.side])).toEqual([['NO_PROPOSAL_CHOSEN', 'local']]);
    expect(p.eventsOf('child-failed', 'ini').map((e) => [e.notifyName, e.side])).toEqual([['NO_PROPOSAL_CHOSEN', 'peer']]);
    expect(p.eventsOf('message-sent', 'rsp').filter((e) => e.exchange === ExchangeType.IKE_AUTH)[0]!.payloads).toEqual(['IDr', 'AUTH', 'N(NO_PROPOSAL_CHOSEN)']);
  });

  it('for traffic selectors: TS_UNACCEPTABLE', () => {
    const p = pair({ ini: { remoteTs: ['10.99.0.0/16'] } });
    p.start();
    p.runTo(sec(5));
    expect(p.eventsOf('sa-established')).toHaveLength(2);
    expect(p.eventsOf('child-failed').map((e) => e.notifyName)).toEqual(['TS_UNACCEPTABLE', 'TS_UNACCEPTABLE']);
  });

  it('narrows selectors to the overlap', () => {
    const p = pair({ ini: { localTs: ['10.77.0.0/16'], remoteTs: ['10.77.20.0/23'] } });
    p.start();
    p.runTo(sec(5));
    expect(p.eventsOf('child-established', 'ini')[0]).toMatchObject({ localTs: ['10.77.10.0/24'], remoteTs: ['10.77.20.0/24'] });
  });
});

describe('INVALID_KE_PAYLOAD', () => {
  it("the responder's configured order wins, as strongSwan's prefer_configured_proposals", () => {
    const p = pair({
      ini: { ikeProposals: 'aes256gcm16-prfsha256-x25519,aes128gcm16-prfsha256-x25519' },
      rsp: { ikeProposals: 'aes128gcm16-prfsha256-x25519,aes256gcm16-prfsha256-x25519' },
    });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.eventsOf('sa-established', 'ini')[0]!.suite).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
  });

  it('makes the initiator retry with the group the responder asks for', () => {
    const p = pair({
      ini: { ikeProposals: 'aes128gcm16-prfsha256-x25519-ecp256-modp2048' },
      rsp: { ikeProposals: 'aes128gcm16-prfsha256-ecp256-modp2048' }, // the responder's order decides: ecp256
    });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.established()).toBe(true);
    expect(p.eventsOf('init-rejected', 'rsp').map((e) => e.notifyName)).toEqual(['INVALID_KE_PAYLOAD']);
    expect(p.eventsOf('exchange-restarted', 'ini').map((e) => [e.reason, e.group])).toEqual([['invalid-ke', 19]]);
    const inits = p.wire.filter((w) => w.kind === 'ike' && decodeMessage(ikeOf(w)).header.exchangeType === ExchangeType.IKE_SA_INIT);
    expect(inits.map((w) => w.from)).toEqual(['ini', 'rsp', 'ini', 'rsp']);
    const rej = decodeMessage(inits[1]!.payload);
    expect(toHex(rej.header.spiR)).toBe('0000000000000000');
    expect(notifiesOfType(rej.payloads, NotifyType.INVALID_KE_PAYLOAD).map((n) => toHex(n.data))).toEqual(['0013']);
    const kes = inits.filter((w) => w.from === 'ini').map((w) => decodeMessage(w.payload).payloads.find((x) => x.type === PayloadType.KE));
    expect(kes.map((k) => k?.type === PayloadType.KE && [k.dhGroup, k.data.length])).toEqual([
      [31, 32],
      [19, 64],
    ]);
    expect(p.eventsOf('sa-established', 'ini')[0]!.suite).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256');
    // The same SPIi is kept, and the responder held no state for the rejected attempt.
    expect(toHex(decodeMessage(inits[0]!.payload).header.spiI)).toBe(toHex(decodeMessage(inits[2]!.payload).header.spiI));
    expect(p.rsp.saIds()).toHaveLength(1);
  });

  it('gives up when the requested group is not one we propose', () => {
    const p = pair({ ini: { ikeProposals: 'aes128gcm16-prfsha256-x25519' }, rsp: { ikeProposals: 'aes128gcm16-prfsha256-x25519' } });
    // A responder that insists on ecp384 is modelled by rewriting its answer.
    const ini = p.ini;
    const id = p.start();
    const req = p.wire[0]!;
    const h = decodeMessage(req.payload).header;
    const bogus = encodeMessage({
      header: { ...h, spiR: new Uint8Array(8), flags: 0x20 },
      payloads: [{ type: PayloadType.N, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyType.INVALID_KE_PAYLOAD, data: Uint8Array.of(0, 20) }],
    });
    ini.handleDatagram({ src: endpoint('198.51.100.2', 500), dst: endpoint('10.77.0.2', 500), payload: bogus }, 1000);
    p.drain();
    expect(p.eventsOf('sa-deleted', 'ini').map((e) => [e.saId, e.reason, e.notify])).toEqual([[id, 'failed', NotifyType.INVALID_KE_PAYLOAD]]);
  });
});

describe('COOKIE', () => {
  it('with cookieThreshold 0 the responder demands one and the handshake still completes', () => {
    const p = pair({}, { responderEndpoint: { cookieThreshold: 0 } });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.established()).toBe(true);
    expect(p.eventsOf('init-rejected', 'rsp').map((e) => e.notifyName)).toEqual(['COOKIE']);
    expect(p.eventsOf('exchange-restarted', 'ini').map((e) => e.reason)).toEqual(['cookie']);
    const [req1, res1, req2] = p.wire.slice(0, 3).map((w) => decodeMessage(w.payload));
    const cookie = notifiesOfType(res1!.payloads, NotifyType.COOKIE)[0]!.data;
    expect(cookie.length).toBe(32);
    expect(res1!.payloads).toHaveLength(1);
    const first = req2!.payloads[0]!;
    expect(first.type === PayloadType.N && first.notifyType === NotifyType.COOKIE && toHex(first.data)).toBe(toHex(cookie));
    // Everything else unchanged (RFC 7296 §2.6), including the nonce the cookie covers.
    expect(toHex(encodePayloadChain(req2!.payloads.slice(1)))).toBe(toHex(encodePayloadChain(req1!.payloads)));
    expect(p.eventsOf('message-sent', 'ini').map((e) => e.payloads[0])).toEqual(['SA', 'N(COOKIE)', 'IDi']);
  });

  it('is stateless and the same for the same initiator (a retransmission gets the same cookie)', () => {
    const p = pair({}, { responderEndpoint: { cookieThreshold: 0 }, faults: { toIni: { loss: 1 } } });
    p.start();
    p.runTo(sec(5));
    const cookies = p.wire.filter((w) => w.from === 'rsp').map((w) => toHex(notifiesOfType(decodeMessage(w.payload).payloads, NotifyType.COOKIE)[0]!.data));
    expect(cookies).toHaveLength(2);
    expect(cookies[1]).toBe(cookies[0]);
    expect(p.rsp.saIds()).toEqual([]);
  });
});

describe('unsupported critical payloads', () => {
  it('in IKE_SA_INIT are answered with UNSUPPORTED_CRITICAL_PAYLOAD naming the type', () => {
    const ini = new IkeEndpoint({ rng: new SeededRng(3) });
    const c = labConfigs({ nat: false });
    ini.initiate(c.initiator, 0);
    const t = ini.pollTransmit()!;
    const m = decodeMessage(t.payload);
    const extra: Payload = { type: 'unknown', payloadType: 200, critical: true, body: Uint8Array.of(1, 2, 3) };
    const crafted = encodeMessage({ header: m.header, payloads: [...m.payloads, extra] });
    const rsp = new IkeEndpoint({ rng: new SeededRng(4), config: { peers: [c.responder] } });
    rsp.handleDatagram({ src: t.src, dst: t.dst, payload: crafted }, 0);
    const out = decodeMessage(rsp.pollTransmit()!.payload);
    expect(out.payloads).toHaveLength(1);
    expect(notifiesOfType(out.payloads, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD).map((n) => Array.from(n.data))).toEqual([[200]]);
    expect(rsp.saIds()).toEqual([]);
  });

  it('inside an Encrypted payload are answered the same way and the SA survives', () => {
    const p = pair();
    const id = p.start();
    p.runUntil(() => p.established(), sec(5));
    const inner: Payload[] = [{ type: 'unknown', payloadType: 201, critical: true, body: new Uint8Array(4) }];
    p.act('rsp', (e, now) => e.handleDatagram(fromInitiator(p, id, 2, inner), now));
    const answer = p.eventsOf('message-sent', 'rsp').at(-1)!;
    expect([answer.exchangeName, answer.messageId, answer.isResponse, answer.payloads]).toEqual(['INFORMATIONAL', 2, true, ['N(UNSUPPORTED_CRITICAL_PAYLOAD)']]);
    expect(p.rsp.getSa(p.rsp.saIds()[0]!)!.state).toBe('established');
  });
});

/** An INFORMATIONAL request from the initiator's NAT-T endpoint, protected with its SK_ei. */
function fromInitiator(p: Pair, id: number, messageId: number, inner: Payload[]) {
  const sa = p.ini.getSa(id)!;
  const prefix = encodeMessage({
    header: { spiI: sa.spiI, spiR: sa.spiR, majorVersion: 2, minorVersion: 0, exchangeType: ExchangeType.INFORMATIONAL, flags: 0x08, messageId },
    payloads: [{ type: PayloadType.SK, critical: false, firstInnerPayload: inner[0] ? (inner[0].type === 'unknown' ? inner[0].payloadType : inner[0].type) : 0, body: new Uint8Array(0) }],
  });
  const msg = sealSkMessage({ suite: GCM128, keyE: sa.keys!.skEi, iv: new Uint8Array(8), prefix, skOffset: 28, plaintext: encodePayloadChain(inner) });
  const framed = new Uint8Array(4 + msg.length);
  framed.set(msg, 4);
  return { src: endpoint('198.51.100.1', 26329), dst: endpoint('198.51.100.2', 4500), payload: framed };
}

describe('message ID window', () => {
  it('drops a response that answers no outstanding request', () => {
    const p = pair();
    const id = p.start();
    p.runUntil(() => p.established(), sec(5));
    const authResponse = p.wire.filter((w) => w.from === 'rsp').at(-1)!;
    p.act('ini', (e, now) => e.handleDatagram({ src: authResponse.outside.src, dst: endpoint('10.77.0.2', 4500), payload: authResponse.payload }, now));
    const [d] = p.eventsOf('datagram-dropped', 'ini');
    expect([d!.reason, d!.saId, d!.message]).toEqual(['unexpected-message-id', id, 'response 1 (IKE_AUTH) with no request outstanding']);
    expect(p.ini.getSa(id)!.state).toBe('established');
  });

  it('drops a request beyond the window and answers the next one', () => {
    const p = pair();
    const id = p.start();
    p.runUntil(() => p.established(), sec(5));
    p.act('rsp', (e, now) => e.handleDatagram(fromInitiator(p, id, 7, []), now));
    expect(p.eventsOf('datagram-dropped', 'rsp').map((d) => [d.reason, d.message])).toEqual([['invalid-message-id', 'request 7 outside the window (expected 2)']]);
    p.act('rsp', (e, now) => e.handleDatagram(fromInitiator(p, id, 2, []), now));
    expect(p.eventsOf('message-sent', 'rsp').at(-1)).toMatchObject({ exchangeName: 'INFORMATIONAL', messageId: 2, isResponse: true, payloads: [] });
  });
});

describe('corrupted and garbage input', () => {
  it('a flipped byte in the SK payload is dropped as an integrity failure; the retransmission then succeeds', () => {
    let flipped = 0;
    const p = pair(
      {},
      {
        tap: (t) => {
          if (t.from !== 'ini' || exchangeOf(t)?.type !== ExchangeType.IKE_AUTH || flipped > 0) return undefined;
          flipped++;
          const out = new Uint8Array(t.payload);
          out[out.length - 30]! ^= 0x40;
          return out;
        },
      },
    );
    p.start();
    p.runUntil(() => p.established(), sec(30));
    expect(flipped).toBe(1);
    const drops = p.eventsOf('datagram-dropped', 'rsp');
    expect(drops.map((d) => d.reason)).toEqual(['integrity']);
    expect(drops[0]!.message).toMatch(/icv-mismatch/);
    expect(p.eventsOf('retransmit', 'ini').map((e) => [e.at, e.attempt, e.exchange])).toEqual([[4_010_000, 1, 'ike-auth']]);
    expect(p.eventsOf('sa-established', 'rsp')[0]!.at).toBe(4_015_000);
  });

  it('after establishment, a corrupted request does not hurt the SA', () => {
    const p = pair({}, { tap: (t) => (t.from === 'ini' && exchangeOf(t)?.type === ExchangeType.INFORMATIONAL && t.at < sec(11) ? Uint8Array.from(t.payload, (b, i) => (i === t.payload.length - 1 ? b ^ 1 : b)) : undefined) });
    const id = p.start();
    p.runUntil(() => p.established(), sec(5));
    p.runTo(sec(10));
    p.act('ini', (e, now) => e.checkLiveness(id, now));
    p.runTo(sec(20));
    expect(p.eventsOf('datagram-dropped', 'rsp').map((d) => d.reason)).toEqual(['integrity']);
    expect(p.eventsOf('retransmit', 'ini').map((e) => e.exchange)).toEqual(['dpd']);
    expect(p.eventsOf('message-received', 'ini').filter((e) => e.exchange === ExchangeType.INFORMATIONAL)).toHaveLength(1);
    expect(p.ini.getSa(id)!.state).toBe('established');
  });

  it('never throws on garbage or mutated messages, and reports each drop without internal errors', () => {
    const rng = new SeededRng(99);
    const c = labConfigs({ nat: false });
    const ini = new IkeEndpoint({ rng: new SeededRng(5) });
    ini.initiate(c.initiator, 0);
    const valid = ini.pollTransmit()!.payload;
    const rsp = new IkeEndpoint({ rng: new SeededRng(6), config: { peers: [c.responder] } });
    let drops = 0;
    let internal = 0;
    for (let i = 0; i < 400; i++) {
      let payload: Uint8Array;
      if (i % 2 === 0) payload = rng.bytes(rng.int(0, 120));
      else {
        payload = new Uint8Array(valid);
        for (let k = rng.int(1, 4); k > 0; k--) payload[rng.int(0, payload.length - 1)] = rng.int(0, 255);
        if (i % 3 === 0) payload = payload.subarray(0, rng.int(0, payload.length));
      }
      const ports = i % 4 < 2 ? [500, 500] : [4500, 4500];
      expect(() => rsp.handleDatagram({ src: endpoint('198.51.100.1', ports[0]!), dst: endpoint('198.51.100.2', ports[1]!), payload }, i)).not.toThrow();
      for (let e = rsp.pollEvent(); e; e = rsp.pollEvent()) {
        if (e.type === 'datagram-dropped') {
          drops++;
          if (e.reason === 'internal-error') internal++;
        }
      }
      while (rsp.pollTransmit());
    }
    expect(internal).toBe(0);
    expect(drops).toBeGreaterThan(200);
  });

  it('ignores keepalives quietly and drops ESP with an event', () => {
    const rsp = new IkeEndpoint({ rng: new SeededRng(8) });
    const src = endpoint('198.51.100.1', 26329);
    const dst = endpoint('198.51.100.2', 4500);
    rsp.handleDatagram({ src, dst, payload: Uint8Array.of(0xff) }, 0);
    expect(rsp.pollEvent()).toBeUndefined();
    rsp.handleDatagram({ src, dst, payload: Uint8Array.of(0x33, 0xed, 0xbb, 0x96, 0, 0, 0, 1, 9, 9) }, 0);
    const e = rsp.pollEvent();
    expect(e?.type === 'datagram-dropped' && [e.reason, e.message]).toEqual(['esp', 'ESP (SPI 33edbb96) is for the ESP datapath']);
    expect(rsp.pollTransmit()).toBeUndefined();
  });
});
