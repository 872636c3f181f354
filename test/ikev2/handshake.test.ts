/**
 * IKE_SA_INIT + IKE_AUTH between two engines in virtual time, with and without the
 * lab's NAT (MASQUERADE with port remapping: 10.77.0.2:500 → 198.51.100.1:29396,
 * :4500 → :26329, as in strongswan-lab/a-nat-keepalive): NAT detection, the float
 * to 4500, the non-ESP marker rule, keepalive timing, forced and disabled
 * encapsulation, and CHILD_SA keys that agree.
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual, formatEndpoint } from '../../src/core/index.ts';
import { decodeMessage } from '../../src/wire/ike/message.ts';
import { ExchangeType } from '../../src/wire/ike/constants.ts';
import { LAB_NAT, Pair, labConfigs, sec, type WireRecord } from '../helpers/engine-pair.ts';

const ep = formatEndpoint;

function natPair(over: Parameters<typeof labConfigs>[0] = {}, nat = true): Pair {
  const c = labConfigs({ ...over, nat });
  return new Pair({ initiator: c.initiator, responder: [c.responder], ...(nat ? { nat: LAB_NAT } : {}) });
}

function ikeExchange(w: WireRecord): { exchange: number; response: boolean } {
  const marker = w.inside.src.port !== 500 && w.inside.dst.port !== 500;
  const m = decodeMessage(marker ? w.payload.subarray(4) : w.payload);
  return { exchange: m.header.exchangeType, response: (m.header.flags & 0x20) !== 0 };
}

/** Every IKE datagram carries the non-ESP marker exactly when neither port is 500; keepalives are one 0xFF byte. */
function checkFraming(wire: readonly WireRecord[]): void {
  for (const w of wire) {
    for (const view of [w.inside, w.outside]) {
      const neither500 = view.src.port !== 500 && view.dst.port !== 500;
      if (w.kind === 'keepalive') {
        expect(Array.from(w.payload)).toEqual([0xff]);
        expect(neither500).toBe(true);
        continue;
      }
      const marker = w.payload.length >= 4 && w.payload[0] === 0 && w.payload[1] === 0 && w.payload[2] === 0 && w.payload[3] === 0;
      expect(marker, `${ep(view.src)} -> ${ep(view.dst)}`).toBe(neither500);
      expect(() => decodeMessage(marker ? w.payload.subarray(4) : w.payload)).not.toThrow();
    }
  }
}

describe('handshake through the lab NAT', () => {
  const p = natPair();
  const saId = p.start();
  p.runUntil(() => p.established(), sec(10));

  it('establishes the IKE SA and the CHILD_SA on both sides, in two round trips', () => {
    expect(p.established()).toBe(true);
    const [iniSa] = p.eventsOf('sa-established', 'ini');
    const [rspSa] = p.eventsOf('sa-established', 'rsp');
    expect(iniSa!.saId).toBe(saId);
    expect(iniSa!.suite).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(rspSa!.suite).toBe(iniSa!.suite);
    expect(bytesEqual(iniSa!.spiI, rspSa!.spiI) && bytesEqual(iniSa!.spiR, rspSa!.spiR)).toBe(true);
    expect(iniSa!.role).toBe('initiator');
    expect(rspSa!.role).toBe('responder');
    expect(iniSa!.remoteId).toBe('rsp.lab');
    expect(rspSa!.remoteId).toBe('ini.lab');
    // 5 ms each way: IKE_SA_INIT out at 0, back at 10 ms; IKE_AUTH back at 20 ms.
    expect(rspSa!.at).toBe(15_000);
    expect(iniSa!.at).toBe(20_000);
  });

  it('sets natHere only on the NATed side and natThere on the other', () => {
    const [ni] = p.eventsOf('nat-detected', 'ini');
    const [nr] = p.eventsOf('nat-detected', 'rsp');
    expect([ni!.natHere, ni!.natThere, ni!.natFake]).toEqual([true, false, false]);
    expect([nr!.natHere, nr!.natThere, nr!.natFake]).toEqual([false, true, false]);
    // The hashes are over what was observed: the responder saw the NAT's public endpoint.
    expect(`${nr!.source.addr}:${nr!.source.port}`).toBe('198.51.100.1:29396');
    expect(nr!.source.matched).toBe(false);
    expect(nr!.destination.matched).toBe(true);
    expect(bytesEqual(nr!.source.spiR, new Uint8Array(8))).toBe(true);
    // The initiator hashed its private endpoint; the responder's DESTINATION hash names the public one.
    expect(`${ni!.destination.addr}:${ni!.destination.port}`).toBe('10.77.0.2:500');
    expect(ni!.destination.matched).toBe(false);
    expect(ni!.source.matched).toBe(true);
    expect(ni!.sent.map((s) => `${s.kind} ${s.addr}:${s.port}`)).toEqual(['source 10.77.0.2:500', 'destination 198.51.100.2:500']);
    expect(p.rsp.getSa(p.rsp.saIds()[0]!)).toMatchObject({ natHere: false, natThere: true });
    expect(p.ini.getSa(saId)).toMatchObject({ natHere: true, natThere: false, natFake: false });
  });

  it('runs IKE_SA_INIT on 500 and floats IKE_AUTH to 4500, with ports as observed through the NAT', () => {
    const ike = p.wire.filter((w) => w.kind === 'ike');
    const seen = ike.map((w) => `${ExchangeType.IKE_SA_INIT === ikeExchange(w).exchange ? 'INIT' : 'AUTH'} ${ep(w.outside.src)} -> ${ep(w.outside.dst)}`);
    expect(seen).toEqual([
      'INIT 198.51.100.1:29396 -> 198.51.100.2:500',
      'INIT 198.51.100.2:500 -> 198.51.100.1:29396',
      'AUTH 198.51.100.1:26329 -> 198.51.100.2:4500',
      'AUTH 198.51.100.2:4500 -> 198.51.100.1:26329',
    ]);
    expect(ike.slice(0, 2).map((w) => `${ep(w.inside.src)} -> ${ep(w.inside.dst)}`)).toEqual(['10.77.0.2:500 -> 198.51.100.2:500', '198.51.100.2:500 -> 10.77.0.2:500']);
    const [fi] = p.eventsOf('ports-floated', 'ini');
    expect([ep(fi!.from.local), ep(fi!.from.remote), ep(fi!.to.local), ep(fi!.to.remote)]).toEqual([
      '10.77.0.2:500',
      '198.51.100.2:500',
      '10.77.0.2:4500',
      '198.51.100.2:4500',
    ]);
    const [fr] = p.eventsOf('ports-floated', 'rsp');
    expect([ep(fr!.to.local), ep(fr!.to.remote)]).toEqual(['198.51.100.2:4500', '198.51.100.1:26329']);
  });

  it('marks IKE on the NAT-T ports (and only there) with the non-ESP marker', () => {
    checkFraming(p.wire);
  });

  it('UDP-encapsulates the CHILD_SA between the NAT-T endpoints, with keys that agree crosswise', () => {
    const [ci] = p.eventsOf('child-established', 'ini');
    const [cr] = p.eventsOf('child-established', 'rsp');
    expect(ci!.suite).toBe('ESP:AES_GCM_16_128/NO_EXT_SEQ');
    expect(ci!.mode).toBe('tunnel');
    expect(ci!.encap && [ep(ci!.encap.local), ep(ci!.encap.remote)]).toEqual(['10.77.0.2:4500', '198.51.100.2:4500']);
    expect(cr!.encap && [ep(cr!.encap.local), ep(cr!.encap.remote)]).toEqual(['198.51.100.2:4500', '198.51.100.1:26329']);
    expect(ci!.spiIn).toBe(cr!.spiOut);
    expect(ci!.spiOut).toBe(cr!.spiIn);
    expect(ci!.encKeyOut.length).toBe(20);
    expect(bytesEqual(ci!.encKeyOut, cr!.encKeyIn)).toBe(true);
    expect(bytesEqual(ci!.encKeyIn, cr!.encKeyOut)).toBe(true);
    expect(bytesEqual(ci!.encKeyIn, ci!.encKeyOut)).toBe(false);
    expect(ci!.localTs).toEqual(['10.77.10.0/24']);
    expect(ci!.remoteTs).toEqual(['10.77.20.0/24']);
    expect(cr!.localTs).toEqual(['10.77.20.0/24']);
    expect(cr!.remoteTs).toEqual(['10.77.10.0/24']);
  });

  it('exports the keys: a Wireshark row per IKE SA and esp_sa rows per direction', () => {
    const [si] = p.eventsOf('sa-established', 'ini');
    const [ci] = p.eventsOf('child-established', 'ini');
    expect(si!.ikev2DecryptionRow).toMatch(/^[0-9a-f]{16},[0-9a-f]{16},[0-9a-f]{40},[0-9a-f]{40},"AES-GCM-128 with 16 octet ICV \[RFC5282\]",,,"NONE \[RFC4306\]"$/);
    expect(si!.keyLog).toContain('selected proposal: IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(ci!.espSaRows.out).toBe(`"IPv4","*","*","0x${ci!.spiOut.toString(16).padStart(8, '0')}","AES-GCM with 16 octet ICV [RFC4106]","0x${Buffer.from(ci!.encKeyOut).toString('hex')}","NULL",""`);
    expect(ci!.keyLog).toContain('CHILD_SA lab{1} established with SPIs');
    expect(p.ini.exportKeys().espSa).toHaveLength(2);
  });

  it('sends no error and drops nothing', () => {
    expect(p.eventsOf('datagram-dropped')).toEqual([]);
    expect(p.eventsOf('retransmit')).toEqual([]);
  });
});

describe('keepalives', () => {
  it('come only from the NATed side, 20 s after its last send, postponed by noteTraffic', () => {
    const p = natPair();
    const saId = p.start();
    p.runUntil(() => p.established(), sec(1));
    // IKE_AUTH left the initiator's NAT-T socket at 10 ms.
    p.runTo(sec(45));
    p.act('ini', (e, now) => e.noteTraffic(saId, now));
    p.runTo(sec(90));
    const due = p.eventsOf('keepalive-due', 'ini').map((e) => e.at);
    const sent = p.eventsOf('keepalive-sent', 'ini').map((e) => e.at);
    expect(due).toEqual([20_010_000, 40_010_000, 65_000_000, 85_000_000]);
    expect(sent).toEqual(due);
    expect(p.eventsOf('keepalive-due', 'ini').map((e) => e.lastSentAt)).toEqual([10_000, 20_010_000, 45_000_000, 65_000_000]);
    expect(p.eventsOf('keepalive-due', 'rsp')).toEqual([]);
    const ka = p.wire.filter((w) => w.kind === 'keepalive');
    expect(ka.map((w) => [w.at, `${ep(w.outside.src)} -> ${ep(w.outside.dst)}`, w.from])).toEqual(
      due.map((t) => [t, '198.51.100.1:26329 -> 198.51.100.2:4500', 'ini']),
    );
    checkFraming(p.wire);
    // The responder ignores them quietly.
    expect(p.eventsOf('datagram-dropped')).toEqual([]);
  });

  it('are postponed by IKE traffic on the NAT-T socket too', () => {
    const p = natPair();
    const saId = p.start();
    p.runUntil(() => p.established(), sec(1));
    p.runTo(sec(12));
    p.act('ini', (e, now) => e.checkLiveness(saId, now));
    p.runTo(sec(50));
    expect(p.eventsOf('keepalive-sent', 'ini').map((e) => e.at)).toEqual([32_000_000]);
  });

  it('are not sent with keepaliveInterval 0', () => {
    const p = natPair({ ini: { keepaliveInterval: 0 } });
    p.start();
    p.runTo(sec(100));
    expect(p.established()).toBe(true);
    expect(p.has('keepalive-sent')).toBe(false);
  });
});

describe('without NAT', () => {
  const p = natPair({}, false);
  p.start();
  p.runUntil(() => p.established(), sec(10));
  p.runTo(sec(65));

  it('detects none, stays on port 500 and does not encapsulate', () => {
    expect(p.established()).toBe(true);
    for (const side of ['ini', 'rsp'] as const) {
      const [n] = p.eventsOf('nat-detected', side);
      expect([n!.natHere, n!.natThere, n!.natFake]).toEqual([false, false, false]);
      expect(p.eventsOf('child-established', side)[0]!.encap).toBeUndefined();
    }
    expect(p.has('ports-floated')).toBe(false);
    expect(p.wire.every((w) => w.outside.src.port === 500 && w.outside.dst.port === 500)).toBe(true);
    expect(p.has('keepalive-sent')).toBe(false);
    checkFraming(p.wire);
  });
});

describe('encap = force without NAT', () => {
  const p = natPair({ ini: { encap: 'force' } }, false);
  p.start();
  p.runUntil(() => p.established(), sec(10));
  p.runTo(sec(65));

  it('fakes NAT on the forcing side (natFake) and looks like NAT to the other (natThere)', () => {
    const [ni] = p.eventsOf('nat-detected', 'ini');
    const [nr] = p.eventsOf('nat-detected', 'rsp');
    expect([ni!.natHere, ni!.natThere, ni!.natFake]).toEqual([false, false, true]);
    expect([nr!.natHere, nr!.natThere, nr!.natFake]).toEqual([false, true, false]);
    // strongSwan 5.9.8's fake: a random address and port 0.
    expect(ni!.sent[0]).toMatchObject({ kind: 'source', port: 0, fake: true });
    expect(ni!.sent[0]!.addr).not.toBe('198.51.100.1');
  });

  it('floats and encapsulates on both sides, without keepalives', () => {
    for (const side of ['ini', 'rsp'] as const) expect(p.eventsOf('child-established', side)[0]!.encap).toBeDefined();
    const auth = p.wire.filter((w) => w.kind === 'ike').slice(2);
    expect(auth.every((w) => w.outside.src.port === 4500 && w.outside.dst.port === 4500)).toBe(true);
    expect(p.has('keepalive-sent')).toBe(false);
    checkFraming(p.wire);
  });
});

describe('encap = off behind NAT', () => {
  const p = natPair({ ini: { encap: 'off' } });
  p.start();
  p.runUntil(() => p.established(), sec(10));
  p.runTo(sec(65));

  it('still detects the NAT but neither floats, encapsulates nor sends keepalives', () => {
    expect(p.established()).toBe(true);
    expect(p.eventsOf('nat-detected', 'ini')[0]!.natHere).toBe(true);
    expect(p.eventsOf('nat-detected', 'rsp')[0]!.natThere).toBe(true);
    for (const side of ['ini', 'rsp'] as const) expect(p.eventsOf('child-established', side)[0]!.encap).toBeUndefined();
    expect(p.has('ports-floated')).toBe(false);
    expect(p.wire.map((w) => ep(w.outside.src))).toEqual(['198.51.100.1:29396', '198.51.100.2:500', '198.51.100.1:29396', '198.51.100.2:500']);
    expect(p.has('keepalive-sent')).toBe(false);
    checkFraming(p.wire);
  });
});

describe('floatAlways', () => {
  it('moves to 4500 without NAT but does not encapsulate', () => {
    const p = natPair({ ini: { floatAlways: true } }, false);
    p.start();
    p.runUntil(() => p.established(), sec(10));
    expect(p.wire.slice(2).every((w) => w.outside.src.port === 4500 && w.outside.dst.port === 4500)).toBe(true);
    expect(p.eventsOf('child-established', 'ini')[0]!.encap).toBeUndefined();
    checkFraming(p.wire);
  });
});

describe('responder connection selection', () => {
  const base = labConfigs();

  it('picks the connection by the peer identity and uses its PSK', () => {
    const p = new Pair({
      initiator: base.initiator,
      responder: [
        { ...base.responder, name: 'other', remoteId: 'other.lab', psk: 'other-psk' },
        { ...base.responder, name: 'lab' },
      ],
      nat: LAB_NAT,
    });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.established()).toBe(true);
    expect(p.eventsOf('sa-established', 'rsp')[0]!.keyLog).toContain('<lab|');
  });

  it('accepts any identity when remoteId is absent', () => {
    const p = new Pair({ initiator: { ...base.initiator, localId: 'someone@ini.lab' }, responder: [{ ...base.responder, remoteId: undefined }], nat: LAB_NAT });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.eventsOf('sa-established', 'rsp')[0]!.remoteId).toBe('someone@ini.lab');
  });

  it('answers with the identity the initiator asked for (IDr)', () => {
    const p = new Pair({
      initiator: { ...base.initiator, remoteId: 'rsp2.lab' },
      responder: [base.responder, { ...base.responder, localId: 'rsp2.lab' }],
      nat: LAB_NAT,
    });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.eventsOf('sa-established', 'ini')[0]!.remoteId).toBe('rsp2.lab');
    expect(p.eventsOf('sa-established', 'rsp')[0]!.localId).toBe('rsp2.lab');
  });

  it('restricts a connection to a peer address when it names one', () => {
    const p = new Pair({ initiator: base.initiator, responder: [{ ...base.responder, remote: '203.0.113.9' }], nat: LAB_NAT });
    p.start();
    p.runTo(sec(1));
    expect(p.eventsOf('init-rejected', 'rsp').map((e) => e.notifyName)).toEqual(['NO_PROPOSAL_CHOSEN']);
  });
});
