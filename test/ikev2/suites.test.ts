/**
 * Every supported IKE suite negotiates between two engines, both derive the same IKE
 * keys and the CHILD_SA keys agree crosswise (our outbound = the peer's inbound).
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/index.ts';
import { Pair, labConfigs, sec } from '../helpers/engine-pair.ts';

interface Case {
  readonly ike: string;
  readonly esp: string;
  readonly ikeName: string;
  readonly espName: string;
  /** SK_e length with salt, SK_a length. */
  readonly skE: number;
  readonly skA: number;
  readonly espE: number;
  readonly espA: number;
}

const DH: Record<string, string> = { x25519: 'CURVE_25519', ecp256: 'ECP_256', ecp384: 'ECP_384', modp2048: 'MODP_2048', modp3072: 'MODP_3072' };
const PRF: Record<string, string> = { prfsha256: 'PRF_HMAC_SHA2_256', prfsha384: 'PRF_HMAC_SHA2_384', prfsha512: 'PRF_HMAC_SHA2_512' };

const cases: Case[] = [];
for (const bits of [128, 256]) {
  for (const prf of ['prfsha256', 'prfsha384', 'prfsha512']) {
    for (const dh of ['x25519', 'ecp256', 'ecp384', 'modp2048']) {
      cases.push({
        ike: `aes${bits}gcm16-${prf}-${dh}`,
        esp: `aes${bits}gcm16`,
        ikeName: `IKE:AES_GCM_16_${bits}/${PRF[prf]}/${DH[dh]}`,
        espName: `ESP:AES_GCM_16_${bits}/NO_EXT_SEQ`,
        skE: bits / 8 + 4,
        skA: 0,
        espE: bits / 8 + 4,
        espA: 0,
      });
    }
  }
}
cases.push(
  {
    ike: 'aes256gcm16-prfsha384-modp3072',
    esp: 'aes256gcm16-esn',
    ikeName: 'IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/MODP_3072',
    espName: 'ESP:AES_GCM_16_256/EXT_SEQ',
    skE: 36,
    skA: 0,
    espE: 36,
    espA: 0,
  },
  {
    ike: 'aes128-sha256-modp2048',
    esp: 'aes128-sha256',
    ikeName: 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
    espName: 'ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ',
    skE: 16,
    skA: 32,
    espE: 16,
    espA: 32,
  },
  {
    ike: 'aes256-sha1-ecp256',
    esp: 'aes256-sha1',
    ikeName: 'IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/ECP_256',
    espName: 'ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ',
    skE: 32,
    skA: 20,
    espE: 32,
    espA: 20,
  },
  {
    ike: 'aes256-sha512-modp3072',
    esp: 'aes256-sha512',
    ikeName: 'IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_3072',
    espName: 'ESP:AES_CBC_256/HMAC_SHA2_512_256/NO_EXT_SEQ',
    skE: 32,
    skA: 64,
    espE: 32,
    espA: 64,
  },
);

describe('supported suites', () => {
  it.each(cases)('$ike / $esp', (c) => {
    const cfg = labConfigs({ ini: { ikeProposals: c.ike, espProposals: c.esp }, rsp: { ikeProposals: c.ike, espProposals: c.esp }, nat: false });
    const p = new Pair({ initiator: cfg.initiator, responder: [cfg.responder], seed: cases.indexOf(c) + 1 });
    const id = p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.established()).toBe(true);
    const [si] = p.eventsOf('sa-established', 'ini');
    const [sr] = p.eventsOf('sa-established', 'rsp');
    expect(si!.suite).toBe(c.ikeName);
    expect(sr!.suite).toBe(c.ikeName);
    const ki = p.ini.getSa(id)!.keys!;
    const kr = p.rsp.getSa(p.rsp.saIds()[0]!)!.keys!;
    for (const k of ['skD', 'skEi', 'skEr', 'skAi', 'skAr'] as const) expect(bytesEqual(ki[k], kr[k]), k).toBe(true);
    expect([ki.skEi.length, ki.skAi.length]).toEqual([c.skE, c.skA]);
    expect(bytesEqual(ki.skEi, ki.skEr)).toBe(false);
    const [ci] = p.eventsOf('child-established', 'ini');
    const [cr] = p.eventsOf('child-established', 'rsp');
    expect(ci!.suite).toBe(c.espName);
    expect(cr!.suite).toBe(c.espName);
    expect(ci!.esn).toBe(c.espName.endsWith('/EXT_SEQ'));
    expect([ci!.encKeyOut.length, ci!.integKeyOut.length]).toEqual([c.espE, c.espA]);
    expect(bytesEqual(ci!.encKeyOut, cr!.encKeyIn) && bytesEqual(ci!.encKeyIn, cr!.encKeyOut)).toBe(true);
    expect(bytesEqual(ci!.integKeyOut, cr!.integKeyIn) && bytesEqual(ci!.integKeyIn, cr!.integKeyOut)).toBe(true);
    expect(ci!.spiOut).toBe(cr!.spiIn);
    expect(ci!.spiIn).toBe(cr!.spiOut);
    expect(p.eventsOf('datagram-dropped')).toEqual([]);
  });

  it('lets the responder choose among several initiator proposals (first acceptable one wins)', () => {
    const cfg = labConfigs({
      ini: { ikeProposals: 'aes256gcm16-prfsha512-ecp384,aes128gcm16-prfsha256-x25519', espProposals: 'aes256gcm16,aes128gcm16' },
      rsp: { ikeProposals: 'aes128gcm16-prfsha256-x25519', espProposals: 'aes128gcm16' },
    });
    const p = new Pair({ initiator: cfg.initiator, responder: [cfg.responder] });
    p.start();
    p.runUntil(() => p.established(), sec(5));
    expect(p.eventsOf('sa-established', 'ini')[0]!.suite).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(p.eventsOf('child-established', 'ini')[0]!.suite).toBe('ESP:AES_GCM_16_128/NO_EXT_SEQ');
    // x25519 was not the first group offered: the initiator sent an ECP-384 KE and was asked for x25519.
    expect(p.eventsOf('exchange-restarted', 'ini').map((e) => [e.reason, e.group])).toEqual([['invalid-ke', 31]]);
  });
});
