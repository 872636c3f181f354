import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/core/index.ts';
import {
  DhGroup,
  EncrId,
  EsnId,
  IntegId,
  PrfId,
  ProposalError,
  TransformType,
  espSuiteFromTransforms,
  espSuiteName,
  ikeSuiteFromTransforms,
  ikeSuiteName,
  parseProposal,
  parseProposals,
  selectProposal,
  transformsOfEspSuite,
  transformsOfIkeSuite,
  type Transform,
} from '../../src/crypto/index.ts';

const { ENCR, PRF, INTEG, DH, ESN } = TransformType;

describe('parseProposal: strongSwan IKE proposals', () => {
  it('aes128gcm16-prfsha256-x25519', () => {
    expect(parseProposal('aes128gcm16-prfsha256-x25519', 'ike').transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: PRF, id: 5 },
      { type: DH, id: 31 },
    ]);
  });

  it('aes256-sha256-modp2048: the PRF follows the integrity algorithm', () => {
    expect(parseProposal('aes256-sha256-modp2048', 'ike').transforms).toEqual([
      { type: ENCR, id: 12, keyLength: 256 },
      { type: PRF, id: 5 },
      { type: INTEG, id: 12 },
      { type: DH, id: 14 },
    ]);
  });

  it('aes128-sha1-ecp256, and sha384 / sha512 / modp3072 / ecp384 / curve25519', () => {
    expect(parseProposal('aes128-sha1-ecp256', 'ike').transforms).toEqual([
      { type: ENCR, id: 12, keyLength: 128 },
      { type: PRF, id: 2 },
      { type: INTEG, id: 2 },
      { type: DH, id: 19 },
    ]);
    expect(parseProposal('aes256-sha384-modp3072', 'ike').transforms).toEqual([
      { type: ENCR, id: 12, keyLength: 256 },
      { type: PRF, id: 6 },
      { type: INTEG, id: 13 },
      { type: DH, id: 15 },
    ]);
    expect(parseProposal('aes256-sha512-ecp384', 'ike').transforms.map((t) => t.id)).toEqual([12, 7, 14, 20]);
    expect(parseProposal('aes256gcm16-prfsha512-curve25519', 'ike').transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 256 },
      { type: PRF, id: 7 },
      { type: DH, id: 31 },
    ]);
  });

  it('an explicit prf wins over the integrity-derived one; several algorithms of a type keep their order', () => {
    expect(parseProposal('aes128-sha256-prfsha384-ecp256', 'ike').transforms.filter((t) => t.type === PRF)).toEqual([{ type: PRF, id: 6 }]);
    const p = parseProposal('aes256-aes128-sha256-sha1-x25519-modp2048', 'ike');
    expect(p.transforms).toEqual([
      { type: ENCR, id: 12, keyLength: 256 },
      { type: ENCR, id: 12, keyLength: 128 },
      { type: PRF, id: 5 },
      { type: PRF, id: 2 },
      { type: INTEG, id: 12 },
      { type: INTEG, id: 2 },
      { type: DH, id: 31 },
      { type: DH, id: 14 },
    ]);
  });

  it('a comma-separated list gives several proposals', () => {
    const ps = parseProposals('aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048', 'ike');
    expect(ps.map((p) => p.text)).toEqual(['aes128gcm16-prfsha256-x25519', 'aes256-sha256-modp2048']);
  });

  it('errors name the offending token or the missing piece', () => {
    const err = (text: string, want: { token?: string; message?: RegExp }, proto: 'ike' | 'esp' = 'ike') => {
      expect(() => parseProposal(text, proto)).toThrow(ProposalError);
      const fields: Record<string, unknown> = {};
      if (want.token !== undefined) fields.token = want.token;
      if (want.message !== undefined) fields.message = expect.stringMatching(want.message);
      expect(() => parseProposal(text, proto)).toThrow(expect.objectContaining(fields));
    };
    err('aes128-sha256-modp1024', { token: 'modp1024', message: /unknown algorithm "modp1024"/ });
    err('aes128gcm16-x25519', { message: /needs an explicit PRF/ });
    err('aes128-x25519', { message: /needs an integrity algorithm/ });
    err('aes128gcm16-sha256-x25519', { message: /AEAD cipher with an integrity/ });
    err('aes128-sha256', { message: /no Diffie-Hellman group/ });
    err('null-sha256-x25519', { message: /NULL encryption is not allowed for IKE/ });
    err('aes128-sha256-esn-x25519', { token: 'esn' });
    err('aes128-prfsha256', { token: 'prfsha256' }, 'esp');
    err('chacha20poly1305-prfsha256-x25519', { token: 'chacha20poly1305' });
    err('', { message: /empty/ });
  });
});

describe('parseProposal: strongSwan ESP proposals', () => {
  it('aes128gcm16 (no ESN by default)', () => {
    expect(parseProposal('aes128gcm16', 'esp').transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: ESN, id: 0 },
    ]);
  });
  it('aes256-sha256', () => {
    expect(parseProposal('aes256-sha256', 'esp').transforms).toEqual([
      { type: ENCR, id: 12, keyLength: 256 },
      { type: INTEG, id: 12 },
      { type: ESN, id: 0 },
    ]);
  });
  it('aes128gcm16-x25519 (PFS)', () => {
    expect(parseProposal('aes128gcm16-x25519', 'esp').transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: DH, id: 31 },
      { type: ESN, id: 0 },
    ]);
  });
  it('aes128-sha256-esn, and esn-noesn offers both', () => {
    expect(parseProposal('aes128-sha256-esn', 'esp').transforms.at(-1)).toEqual({ type: ESN, id: 1 });
    expect(parseProposal('aes128-sha256-esn-noesn', 'esp').transforms.filter((t) => t.type === ESN).map((t) => t.id)).toEqual([1, 0]);
  });
  it('null-sha256 and 3des-md5', () => {
    expect(parseProposal('null-sha256', 'esp').transforms).toEqual([
      { type: ENCR, id: 11 },
      { type: INTEG, id: 12 },
      { type: ESN, id: 0 },
    ]);
    expect(parseProposal('3des-md5', 'esp').transforms.map((t) => [t.type, t.id])).toEqual([
      [ENCR, 3],
      [INTEG, 1],
      [ESN, 0],
    ]);
  });
});

describe('suites and their names', () => {
  it('names the lab suites as charon does (keys.json "proposal")', () => {
    const ike = ikeSuiteFromTransforms(parseProposal('aes128gcm16-prfsha256-x25519', 'ike').transforms);
    expect(ike).toEqual({ encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE, prf: PrfId.HMAC_SHA2_256, dh: DhGroup.CURVE_25519 });
    expect(ikeSuiteName(ike)).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    const esp = espSuiteFromTransforms(parseProposal('aes128gcm16', 'esp').transforms);
    expect(esp).toEqual({ encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE, dh: DhGroup.NONE, esn: false });
    expect(espSuiteName(esp)).toBe('ESP:AES_GCM_16_128/NO_EXT_SEQ');
  });

  it('names CBC, PFS and ESN suites', () => {
    expect(ikeSuiteName(ikeSuiteFromTransforms(parseProposal('aes256-sha256-modp2048', 'ike').transforms))).toBe(
      'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
    );
    expect(espSuiteName(espSuiteFromTransforms(parseProposal('aes128-sha256-esn', 'esp').transforms))).toBe('ESP:AES_CBC_128/HMAC_SHA2_256_128/EXT_SEQ');
    expect(espSuiteName(espSuiteFromTransforms(parseProposal('aes128gcm16-ecp256', 'esp').transforms))).toBe('ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ');
    expect(espSuiteName(espSuiteFromTransforms(parseProposal('3des-md5', 'esp').transforms))).toBe('ESP:3DES_CBC/HMAC_MD5_96/NO_EXT_SEQ');
    expect(espSuiteName(espSuiteFromTransforms(parseProposal('null-sha1', 'esp').transforms))).toBe('ESP:NULL/HMAC_SHA1_96/NO_EXT_SEQ');
  });

  it('transformsOf*Suite gives back one transform per type', () => {
    const ike = ikeSuiteFromTransforms(parseProposal('aes256-sha384-ecp384', 'ike').transforms);
    expect(transformsOfIkeSuite(ike)).toEqual([
      { type: ENCR, id: 12, keyLength: 256 },
      { type: PRF, id: 6 },
      { type: INTEG, id: 13 },
      { type: DH, id: 20 },
    ]);
    const esp = espSuiteFromTransforms(parseProposal('aes128gcm16-x25519-esn', 'esp').transforms);
    expect(transformsOfEspSuite(esp)).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: DH, id: 31 },
      { type: ESN, id: EsnId.ESN },
    ]);
  });

  it('refuses incomplete or inconsistent chosen transforms with NO_PROPOSAL_CHOSEN', () => {
    const bad = (ts: Transform[], f: typeof ikeSuiteFromTransforms | typeof espSuiteFromTransforms, message: RegExp) => {
      expect(() => f(ts)).toThrow(ProtocolError);
      expect(() => f(ts)).toThrow(expect.objectContaining({ notifyType: 14, message: expect.stringMatching(message) }));
    };
    bad([{ type: PRF, id: 5 }, { type: DH, id: 31 }], ikeSuiteFromTransforms, /no encryption/);
    bad([{ type: ENCR, id: 12 }, { type: INTEG, id: 2 }], espSuiteFromTransforms, /key length/);
    bad([{ type: ENCR, id: 20, keyLength: 128 }, { type: INTEG, id: 2 }], espSuiteFromTransforms, /AEAD/);
    bad([{ type: ENCR, id: 20, keyLength: 128 }, { type: PRF, id: 5 }, { type: DH, id: 2 }], ikeSuiteFromTransforms, /group 2/);
  });
});

describe('selectProposal (responder)', () => {
  const ours = parseProposals('aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519', 'ike');

  it('picks the first peer proposal we accept, with the peer transform order inside it', () => {
    const peer = [
      { number: 1, transforms: parseProposal('aes128-sha1-ecp256', 'ike').transforms },
      { number: 2, transforms: parseProposal('aes128gcm16-aes256gcm16-prfsha384-prfsha256-ecp256-x25519', 'ike').transforms },
      { number: 3, transforms: parseProposal('aes256-sha256-modp2048', 'ike').transforms },
    ];
    const chosen = selectProposal(ours, peer);
    expect(chosen?.number).toBe(2);
    expect(chosen?.index).toBe(1);
    expect(chosen?.transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: PRF, id: 5 },
      { type: DH, id: 31 },
    ]);
  });

  it("with prefer 'ours' our first proposal wins when the peer also offers it", () => {
    const peer = [
      { transforms: parseProposal('aes128gcm16-prfsha256-x25519', 'ike').transforms },
      { transforms: parseProposal('aes256-sha256-modp2048', 'ike').transforms },
    ];
    expect(selectProposal(ours, peer)?.number).toBe(1);
    expect(selectProposal(ours, peer, { prefer: 'ours' })?.number).toBe(2);
  });

  it('needs every transform type to match: key length, PRF, DH group', () => {
    const only = (t: string) => [{ transforms: parseProposal(t, 'ike').transforms }];
    expect(selectProposal(ours, only('aes192-sha256-modp2048'))).toBeUndefined();
    expect(selectProposal(ours, only('aes128gcm16-prfsha384-x25519'))).toBeUndefined();
    expect(selectProposal(ours, only('aes128gcm16-prfsha256-ecp256'))).toBeUndefined();
    expect(selectProposal(ours, [])).toBeUndefined();
  });

  it('ESP: matches ESN, treats a missing DH as no PFS, and refuses PFS we did not configure', () => {
    const espOurs = parseProposals('aes128gcm16,aes256-sha256-esn', 'esp');
    const peer = (t: string) => [{ transforms: parseProposal(t, 'esp').transforms }];
    expect(selectProposal(espOurs, peer('aes128gcm16'))?.transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: ESN, id: 0 },
    ]);
    expect(selectProposal(espOurs, peer('aes256-sha256-noesn'))).toBeUndefined();
    expect(selectProposal(espOurs, peer('aes256-sha256-noesn-esn'))?.transforms.at(-1)).toEqual({ type: ESN, id: 1 });
    expect(selectProposal(espOurs, peer('aes128gcm16-x25519'))).toBeUndefined();
    // A peer transform list without ESN is read as "no ESN".
    expect(selectProposal(espOurs, [{ transforms: [{ type: ENCR, id: 20, keyLength: 128 }] }])?.index).toBe(0);
    const pfs = parseProposals('aes128gcm16-x25519', 'esp');
    expect(selectProposal(pfs, peer('aes128gcm16-ecp256-x25519'))?.transforms).toEqual([
      { type: ENCR, id: 20, keyLength: 128 },
      { type: DH, id: 31 },
      { type: ESN, id: 0 },
    ]);
    expect(selectProposal(pfs, peer('aes128gcm16'))).toBeUndefined();
  });
});
