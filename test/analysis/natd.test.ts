/**
 * NAT-D judgement rules on hand-made observations (RFC 7296 §2.23, RFC 3947 §3.2):
 * each hash against the packet that carried it, translated / unverified / fake.
 */
import { describe, expect, it } from 'vitest';
import { evaluateNatd, natdHash, natdHashInput, type NatdContext, type NatdObservation } from '../../src/analysis/natd.ts';
import { parseEndpoint, type Endpoint } from '../../src/core/addr.ts';
import { hex, natd } from './support.ts';

const SPI_I = '0123456789abcdef';
const SPI_R = 'fedcba9876543210';
const ep = parseEndpoint;

function obs(o: Partial<NatdObservation> & Pick<NatdObservation, 'sender' | 'kind' | 'src' | 'dst'> & { over: string }): NatdObservation {
  return {
    capture: 0,
    frame: 1,
    message: 'IKE_SA_INIT response',
    carrier: 'N',
    encrypted: false,
    algorithm: 'SHA1',
    hash: natd(SPI_I, SPI_R, o.over),
    spiI: hex(SPI_I),
    spiR: hex(SPI_R),
    ...o,
  };
}

function ctx(init: Record<number, string[]>, resp: Record<number, string[]>): NatdContext {
  const m = (r: Record<number, string[]>) =>
    new Map(Object.entries(r).map(([c, eps]) => [Number(c), { on500: eps.map(ep) as Endpoint[], on4500: [] as Endpoint[] }]));
  return { endpoints: { initiator: m(init), responder: m(resp) } };
}

describe('hash inputs', () => {
  it('SPIi | SPIr | IP | port, and the negotiated IKEv1 algorithm', () => {
    expect(Buffer.from(natdHashInput(hex(SPI_I), hex(SPI_R), ep('10.0.0.1:4500'))).toString('hex')).toBe(`${SPI_I}${SPI_R}0a0000011194`);
    expect(Buffer.from(natdHash('SHA1', hex(SPI_I), hex(SPI_R), ep('10.0.0.1:500'))).toString('hex')).toBe(Buffer.from(natd(SPI_I, SPI_R, '10.0.0.1:500')).toString('hex'));
    expect(natdHash('MD5', hex(SPI_I), hex(SPI_R), ep('10.0.0.1:500'))).toHaveLength(16);
    expect(natdHash('SHA2-512', hex(SPI_I), hex(SPI_R), ep('10.0.0.1:500'))).toHaveLength(64);
  });
});

describe('verdicts', () => {
  it('a DESTINATION hash is judged against the destination, a SOURCE hash against the source', () => {
    // Captured inside the initiator's NAT: the responder addressed the public mapping.
    const r = evaluateNatd(
      [
        obs({ sender: 'responder', kind: 'source', src: ep('192.0.2.1:500'), dst: ep('10.0.0.2:500'), over: '192.0.2.1:500' }),
        obs({ sender: 'responder', kind: 'destination', src: ep('192.0.2.1:500'), dst: ep('10.0.0.2:500'), over: '198.51.100.7:1025' }),
      ],
      ctx({ 0: ['10.0.0.2:500'] }, { 0: ['192.0.2.1:500'] }),
      'SHA1',
    );
    expect(r.hashes.map((h) => h.status)).toEqual(['match', 'mismatch']);
    expect([r.initiatorBehindNat, r.responderBehindNat, r.fake]).toEqual([true, false, false]);
  });

  it('a SOURCE hash over another observed endpoint of the sender: translated', () => {
    const r = evaluateNatd(
      [obs({ sender: 'initiator', kind: 'source', src: ep('198.51.100.7:1025'), dst: ep('192.0.2.1:500'), over: '10.0.0.2:500', capture: 1 })],
      ctx({ 0: ['10.0.0.2:500'], 1: ['198.51.100.7:1025'] }, { 0: ['192.0.2.1:500'], 1: ['192.0.2.1:500'] }),
      'SHA1',
    );
    expect(r.hashes[0]).toMatchObject({ status: 'translated', matchedEndpoint: '10.0.0.2:500' });
    expect(r.initiatorBehindNat).toBe(true);
  });

  it('a SOURCE hash over nothing seen, from a standard port and no sign of translation: fake, not a NAT', () => {
    const r = evaluateNatd(
      [
        obs({ sender: 'responder', kind: 'source', src: ep('192.0.2.1:500'), dst: ep('192.0.2.9:500'), over: '151.238.19.11:0' }),
        obs({ sender: 'responder', kind: 'destination', src: ep('192.0.2.1:500'), dst: ep('192.0.2.9:500'), over: '192.0.2.9:500' }),
      ],
      ctx({ 0: ['192.0.2.9:500'] }, { 0: ['192.0.2.1:500'] }),
      'SHA1',
    );
    expect(r.hashes.map((h) => h.status)).toEqual(['fake', 'match']);
    expect([r.initiatorBehindNat, r.responderBehindNat, r.fake, r.fakeSenders]).toEqual([false, false, true, ['responder']]);
    expect(r.explanation.join(' ')).toContain('force UDP encapsulation');
  });

  it('the same hash from a remapped port: unverified, the sender is behind NAT', () => {
    const r = evaluateNatd(
      [obs({ sender: 'initiator', kind: 'source', src: ep('198.51.100.7:1025'), dst: ep('192.0.2.1:500'), over: '151.238.19.11:0' })],
      ctx({ 0: ['198.51.100.7:1025'] }, { 0: ['192.0.2.1:500'] }),
      'SHA1',
    );
    expect(r.hashes[0]!.status).toBe('unverified');
    expect(r.initiatorBehindNat).toBe(true);
  });

  it('one matching SOURCE hash of a multihomed sender is enough (RFC 3947 lists several)', () => {
    const base = { sender: 'initiator' as const, kind: 'source' as const, src: ep('192.0.2.9:500'), dst: ep('192.0.2.1:500') };
    const r = evaluateNatd([obs({ ...base, over: '203.0.113.3:500' }), obs({ ...base, over: '192.0.2.9:500' })], ctx({ 0: ['192.0.2.9:500'] }, { 0: ['192.0.2.1:500'] }), 'SHA1');
    expect(r.initiatorBehindNat).toBe(false);
  });

  it('no hashes: no verdict', () => {
    expect(evaluateNatd([], ctx({}, {}), null)).toMatchObject({ initiatorBehindNat: null, responderBehindNat: null, fake: false, hashes: [] });
  });
});
