/**
 * After establishment: CHILD_SA and IKE SA rekeying, dead peer detection on the
 * strongSwan retransmission schedule, deletes, and following a peer whose NAT
 * mapping changed (RFC 7296 §2.23).
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual, endpoint, formatEndpoint, toHex } from '../../src/core/index.ts';
import { ExchangeType } from '../../src/wire/ike/constants.ts';
import { LAB_NAT, Pair, labConfigs, sec, type PairOptions } from '../helpers/engine-pair.ts';

function pair(over: Parameters<typeof labConfigs>[0] = {}, extra: Partial<PairOptions> = {}): Pair {
  const c = labConfigs(over);
  return new Pair({ initiator: c.initiator, responder: [c.responder], nat: LAB_NAT, ...extra });
}

function established(over: Parameters<typeof labConfigs>[0] = {}, extra: Partial<PairOptions> = {}): { p: Pair; id: number; rspId: number } {
  const p = pair(over, extra);
  const id = p.start();
  p.runUntil(() => p.established(), sec(5));
  expect(p.established()).toBe(true);
  return { p, id, rspId: p.rsp.saIds()[0]! };
}

/** Retransmission schedule with strongSwan's defaults: 4 s × 1.8^n. */
const DELAYS = [4_000_000, 7_200_000, 12_960_000, 23_328_000, 41_990_400, 75_582_720];
const cumulative = (start: number) => DELAYS.map((_, i) => start + DELAYS.slice(0, i + 1).reduce((a, b) => a + b, 0));

describe('CHILD_SA rekey', () => {
  it('replaces the CHILD_SA with new keys both sides agree on; the old inbound SA stays until its Delete', () => {
    const { p, id, rspId } = established();
    const old = p.eventsOf('child-established', 'ini')[0]!;
    p.runTo(sec(10));
    p.act('ini', (e, now) => e.rekeyChild(id, old.childId, now));
    // CREATE_CHILD_SA request out at 10 s, answered at 10.005 s: the responder keeps the old SA meanwhile.
    p.runUntil(() => p.has('child-rekeyed', 'rsp'), sec(11));
    const rspChildren = p.rsp.getSa(rspId)!.children;
    expect(rspChildren.map((c) => c.state)).toEqual(['rekeyed', 'installed']);
    p.runTo(sec(11));
    const ni = p.eventsOf('child-established', 'ini')[1]!;
    const nr = p.eventsOf('child-established', 'rsp')[1]!;
    expect(ni.rekeyOf).toBe(old.childId);
    expect(ni.spiIn).not.toBe(old.spiIn);
    expect(ni.spiOut).toBe(nr.spiIn);
    expect(ni.spiIn).toBe(nr.spiOut);
    expect(bytesEqual(ni.encKeyOut, nr.encKeyIn) && bytesEqual(ni.encKeyIn, nr.encKeyOut)).toBe(true);
    expect(bytesEqual(ni.encKeyOut, old.encKeyOut)).toBe(false);
    expect(ni.encap).toEqual(old.encap);
    const create = p.eventsOf('message-sent', 'ini').find((m) => m.exchange === ExchangeType.CREATE_CHILD_SA)!;
    expect([create.at, create.messageId, create.payloads]).toEqual([sec(10), 2, ['N(REKEY_SA)', 'SA', 'No', 'TSi', 'TSr']]);
    const del = p.eventsOf('message-sent', 'ini').filter((m) => m.exchange === ExchangeType.INFORMATIONAL);
    expect(del.map((m) => [m.at, m.messageId, m.payloads])).toEqual([[10_010_000, 3, ['D']]]);
    expect(p.eventsOf('child-deleted').map((e) => [e.childId === old.childId || e.spiOut === old.spiIn, e.reason, e.at])).toEqual([
      [true, 'rekeyed', 10_015_000],
      [true, 'rekeyed', 10_020_000],
    ]);
    expect(p.ini.getSa(id)!.children.map((c) => c.spiIn)).toEqual([ni.spiIn]);
    expect(p.rsp.getSa(rspId)!.children.map((c) => c.spiIn)).toEqual([nr.spiIn]);
  });

  it('with PFS sends a KE in CREATE_CHILD_SA (none in IKE_AUTH) and still agrees', () => {
    const { p, id } = established({ ini: { espProposals: 'aes128gcm16-modp2048' }, rsp: { espProposals: 'aes128gcm16-modp2048' } });
    expect(p.eventsOf('message-sent', 'ini')[1]!.payloads).toEqual(['IDi', 'IDr', 'AUTH', 'SA', 'TSi', 'TSr']);
    p.act('ini', (e, now) => e.rekeyChild(id, p.eventsOf('child-established', 'ini')[0]!.childId, now));
    p.runTo(p.now + sec(1));
    expect(p.eventsOf('message-sent', 'ini').find((m) => m.exchange === ExchangeType.CREATE_CHILD_SA)!.payloads).toEqual(['N(REKEY_SA)', 'SA', 'No', 'KE', 'TSi', 'TSr']);
    const ni = p.eventsOf('child-established', 'ini')[1]!;
    const nr = p.eventsOf('child-established', 'rsp')[1]!;
    expect(ni.suite).toBe('ESP:AES_GCM_16_128/MODP_2048/NO_EXT_SEQ');
    expect(bytesEqual(ni.encKeyOut, nr.encKeyIn)).toBe(true);
  });

  it('happens by itself at the configured rekey time (jitter subtracted at random)', () => {
    const { p } = established({ ini: { rekey: { child: '60s' } } });
    p.runTo(sec(200));
    const creates = p.eventsOf('message-sent', 'ini').filter((m) => m.exchange === ExchangeType.CREATE_CHILD_SA).map((m) => m.at);
    // Installed at 20 ms; the replacement is installed at 60.03 s, so the next rekey is due at 120.03 s.
    expect(creates).toEqual([60_020_000, 120_030_000, 180_040_000]);
    expect(p.ini.getSa(1)!.children).toHaveLength(1);
    const j = established({ ini: { rekey: { child: '60s', jitter: '10s' } } }).p;
    j.runTo(sec(100));
    const t = j.eventsOf('message-sent', 'ini').find((m) => m.exchange === ExchangeType.CREATE_CHILD_SA)!.at;
    expect(t).toBeGreaterThanOrEqual(50_020_000);
    expect(t).toBeLessThanOrEqual(60_020_000);
  });

  it('answers CHILD_SA_NOT_FOUND for an unknown SPI and a second CHILD_SA can be created', () => {
    const { p, id } = established();
    p.act('ini', (e, now) => e.createChild(id, now));
    p.runTo(p.now + sec(1));
    expect(p.eventsOf('child-established', 'ini')).toHaveLength(2);
    expect(p.eventsOf('child-established', 'rsp')).toHaveLength(2);
    expect(p.eventsOf('message-sent', 'ini').at(-1)!.payloads).toEqual(['SA', 'No', 'TSi', 'TSr']);
  });
});

describe('IKE SA rekey', () => {
  it('creates an SA with new SPIs and keys (SKEYSEED from the old SK_d), moves the CHILD_SAs and deletes the old SA', () => {
    const { p, id, rspId } = established();
    const oldKeys = p.ini.getSa(id)!.keys!;
    const child = p.eventsOf('child-established', 'ini')[0]!;
    p.runTo(sec(10));
    p.act('ini', (e, now) => e.rekeyIke(id, now));
    p.runTo(sec(11));
    const [ri] = p.eventsOf('sa-rekeyed', 'ini');
    const [rr] = p.eventsOf('sa-rekeyed', 'rsp');
    expect(ri!.saId).toBe(id);
    expect(rr!.saId).toBe(rspId);
    expect(toHex(ri!.spiI)).toBe(toHex(rr!.spiI));
    expect(toHex(ri!.spiR)).toBe(toHex(rr!.spiR));
    const oldSa = p.eventsOf('sa-established', 'ini')[0]!;
    expect(toHex(ri!.spiI)).not.toBe(toHex(oldSa.spiI));
    const ni = p.ini.getSa(ri!.newSaId)!;
    const nr = p.rsp.getSa(rr!.newSaId)!;
    for (const k of ['skD', 'skEi', 'skEr'] as const) {
      expect(bytesEqual(ni.keys![k], nr.keys![k])).toBe(true);
      expect(bytesEqual(ni.keys![k], oldKeys[k])).toBe(false);
    }
    expect(ni.role).toBe('initiator');
    expect(nr.role).toBe('responder');
    expect([ni.natHere, nr.natThere, formatEndpoint(nr.remote)]).toEqual([true, true, '198.51.100.1:26329']);
    expect(ni.children.map((c) => c.id)).toEqual([child.childId]);
    expect(p.eventsOf('sa-deleted').map((e) => [e.saId, e.reason])).toEqual([
      [rspId, 'rekeyed'],
      [id, 'rekeyed'],
    ]);
    expect(p.eventsOf('child-deleted')).toEqual([]);
    expect(p.ini.saIds()).toEqual([ri!.newSaId]);
    expect(p.eventsOf('sa-established', 'ini').at(-1)).toMatchObject({ saId: ri!.newSaId, rekeyOf: id });
    const msgs = p.eventsOf('message-sent', 'ini').filter((m) => m.at >= sec(10)).map((m) => [m.exchangeName, m.messageId, m.payloads.join(' ')]);
    expect(msgs).toEqual([
      ['CREATE_CHILD_SA', 2, 'SA No KE'],
      ['INFORMATIONAL', 3, 'D'],
    ]);
    // The new SA works: message IDs restart at 0 under the new keys, and CHILD_SA rekeying derives from the new SK_d.
    p.act('ini', (e, now) => e.checkLiveness(ri!.newSaId, now));
    p.act('ini', (e, now) => e.rekeyChild(ri!.newSaId, child.childId, now));
    p.runTo(p.now + sec(1));
    const after = p.eventsOf('message-sent', 'ini').filter((m) => m.at >= sec(11)).map((m) => [m.exchangeName, m.messageId]);
    expect(after).toEqual([
      ['INFORMATIONAL', 0],
      ['CREATE_CHILD_SA', 1],
      ['INFORMATIONAL', 2],
    ]);
    const c2i = p.eventsOf('child-established', 'ini').at(-1)!;
    const c2r = p.eventsOf('child-established', 'rsp').at(-1)!;
    expect(bytesEqual(c2i.encKeyOut, c2r.encKeyIn)).toBe(true);
    expect(p.eventsOf('datagram-dropped')).toEqual([]);
  });

  it('happens by itself at the configured time, started by the responder too', () => {
    const { p } = established({ rsp: { rekey: { ike: '100s' } } });
    p.runTo(sec(150));
    const [r] = p.eventsOf('sa-rekeyed', 'rsp');
    // Established at 15 ms, the request leaves at 100.015 s and is answered at 100.025 s.
    expect(p.eventsOf('message-sent', 'rsp').find((m) => m.exchange === ExchangeType.CREATE_CHILD_SA)!.at).toBe(100_015_000);
    expect(p.eventsOf('sa-rekeyed', 'ini')[0]!.at).toBe(100_020_000);
    expect(r!.at).toBe(100_025_000);
    // The responder started it, so it is the initiator of the new SA.
    expect(p.rsp.getSa(r!.newSaId)!.role).toBe('initiator');
    expect(p.ini.getSa(p.eventsOf('sa-rekeyed', 'ini')[0]!.newSaId)!.role).toBe('responder');
    // The NATed side still sends keepalives on the new SA.
    expect(p.eventsOf('keepalive-sent', 'ini').filter((k) => k.at > sec(101)).length).toBeGreaterThan(0);
    expect(p.eventsOf('keepalive-sent', 'rsp')).toEqual([]);
  });
});

describe('dead peer detection', () => {
  it('checks after dpdDelay of silence and keeps a live SA', () => {
    const { p } = established({ ini: { dpdDelay: '30s' } });
    p.runTo(sec(100));
    const dpd = p.eventsOf('message-sent', 'ini').filter((m) => m.exchange === ExchangeType.INFORMATIONAL).map((m) => m.at);
    // Last inbound at 20 ms; each answer arrives 10 ms after its check.
    expect(dpd).toEqual([30_020_000, 60_030_000, 90_040_000]);
    expect(p.has('sa-deleted')).toBe(false);
  });

  it('declares a dead peer after the retransmission schedule: 4, 4+7.2, ... s, reason dpd', () => {
    const { p, id } = established({ ini: { dpdDelay: '30s' } });
    p.kill('rsp');
    p.runTo(sec(300));
    const sent = p.eventsOf('message-sent', 'ini').filter((m) => m.exchange === ExchangeType.INFORMATIONAL);
    const start = 30_020_000;
    expect(sent.map((m) => m.at)).toEqual([start, ...cumulative(start).slice(0, 5)]);
    expect(p.eventsOf('retransmit', 'ini').map((r) => [r.attempt, r.exchange, r.at])).toEqual(cumulative(start).slice(0, 5).map((t, i) => [i + 1, 'dpd', t]));
    expect(cumulative(start).slice(0, 2)).toEqual([34_020_000, 41_220_000]);
    const [del] = p.eventsOf('sa-deleted', 'ini');
    expect([del!.saId, del!.reason, del!.at]).toEqual([id, 'dpd', cumulative(start)[5]]);
    expect(del!.at).toBe(195_081_120);
    expect(p.eventsOf('child-deleted', 'ini').map((c) => c.reason)).toEqual(['ike-deleted']);
    expect(p.ini.saIds()).toEqual([]);
    expect(p.ini.pollTimeout()).toBeUndefined();
  });

  it('an unanswered IKE_SA_INIT is given up after 165.06 s (reason timeout)', () => {
    const p = pair();
    p.kill('rsp');
    p.start();
    p.runTo(sec(300));
    expect(p.eventsOf('retransmit', 'ini').map((r) => r.at)).toEqual(cumulative(0).slice(0, 5));
    expect(p.eventsOf('sa-deleted', 'ini').map((e) => [e.reason, e.at])).toEqual([['timeout', 165_061_120]]);
  });

  it('a half-open responder SA is dropped after the half-open timeout', () => {
    const p = pair({}, { faults: { toRsp: {} } });
    p.start();
    p.runTo(sec(0.006));
    p.kill('ini');
    p.runTo(sec(60));
    expect(p.eventsOf('sa-deleted', 'rsp').map((e) => [e.reason, e.at])).toEqual([['half-open-timeout', 30_005_000]]);
  });
});

describe('delete', () => {
  it('of the IKE SA removes it and its CHILD_SAs on both sides', () => {
    const { p, id, rspId } = established();
    p.runTo(sec(5));
    p.act('ini', (e, now) => e.deleteSa(id, now));
    p.runTo(sec(6));
    expect(p.eventsOf('message-sent', 'ini').at(-1)!.payloads).toEqual(['D']);
    expect(p.eventsOf('message-sent', 'rsp').at(-1)!.payloads).toEqual([]);
    expect(p.eventsOf('sa-deleted').map((e) => [e.saId, e.reason, e.at])).toEqual([
      [rspId, 'remote', 5_005_000],
      [id, 'local', 5_010_000],
    ]);
    expect(p.eventsOf('child-deleted').map((e) => e.reason)).toEqual(['ike-deleted', 'ike-deleted']);
    expect(p.ini.saIds()).toEqual([]);
    expect(p.rsp.saIds()).toEqual([]);
    // No more keepalives once the SA is gone.
    p.runTo(sec(60));
    expect(p.eventsOf('keepalive-sent')).toEqual([]);
  });

  it('can come from the responder (a request without the I flag)', () => {
    const { p, id, rspId } = established();
    p.act('rsp', (e, now) => e.deleteSa(rspId, now));
    p.runTo(p.now + sec(1));
    expect(p.eventsOf('sa-deleted').map((e) => [e.saId, e.reason])).toEqual([
      [id, 'remote'],
      [rspId, 'local'],
    ]);
  });

  it('of one CHILD_SA keeps the IKE SA', () => {
    const { p, id, rspId } = established();
    const c = p.eventsOf('child-established', 'ini')[0]!;
    p.act('ini', (e, now) => e.deleteChild(id, c.childId, now));
    p.runTo(p.now + sec(1));
    const deleted = p.events.flatMap((e) => (e.event.type === 'child-deleted' ? [[e.side, e.event.reason, e.event.childId === c.childId || e.event.spiOut === c.spiIn]] : []));
    expect(deleted).toEqual([
      ['rsp', 'remote', true],
      ['ini', 'local', true],
    ]);
    expect(p.eventsOf('message-sent', 'rsp').at(-1)!.payloads).toEqual(['D']);
    expect(p.ini.getSa(id)!.state).toBe('established');
    expect(p.rsp.getSa(rspId)!.children).toEqual([]);
  });
});

describe('peer address update (RFC 7296 §2.23)', () => {
  it('follows the initiator to its new NAT mapping on an authenticated request', () => {
    const { p, id, rspId } = established();
    const child = p.eventsOf('child-established', 'rsp')[0]!;
    p.runTo(sec(10));
    p.remap(4500, 31000);
    p.act('ini', (e, now) => e.checkLiveness(id, now));
    p.runTo(sec(11));
    const [u] = p.eventsOf('peer-address-updated', 'rsp');
    expect([formatEndpoint(u!.from), formatEndpoint(u!.to), u!.childIds, u!.at]).toEqual(['198.51.100.1:26329', '198.51.100.1:31000', [child.childId], 10_005_000]);
    const sa = p.rsp.getSa(rspId)!;
    expect(formatEndpoint(sa.remote)).toBe('198.51.100.1:31000');
    expect(sa.children[0]!.encap && formatEndpoint(sa.children[0]!.encap.remote)).toBe('198.51.100.1:31000');
    const answer = p.wire.at(-1)!;
    expect([answer.from, formatEndpoint(answer.outside.dst), answer.dropped]).toEqual(['rsp', '198.51.100.1:31000', undefined]);
    expect(p.has('peer-address-updated', 'ini')).toBe(false);
    expect(p.eventsOf('message-received', 'ini').at(-1)!.exchange).toBe(ExchangeType.INFORMATIONAL);
  });

  it('does not move for a retransmitted request from another port', () => {
    const { p, id, rspId } = established();
    p.act('ini', (e, now) => e.checkLiveness(id, now));
    p.runTo(p.now + sec(1));
    const dpd = p.wire.filter((w) => w.from === 'ini' && w.kind === 'ike').at(-1)!;
    p.act('rsp', (e, now) => e.handleDatagram({ src: endpoint('198.51.100.1', 40000), dst: dpd.outside.dst, payload: dpd.payload }, now));
    expect(p.eventsOf('message-received', 'rsp').at(-1)!.retransmission).toBe(true);
    expect(p.has('peer-address-updated')).toBe(false);
    expect(formatEndpoint(p.rsp.getSa(rspId)!.remote)).toBe('198.51.100.1:26329');
  });
});
