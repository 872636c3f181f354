import { describe, expect, it } from 'vitest';
import * as C from '../../../src/wire/ike/constants.ts';

describe('IKEv2 registry tables', () => {
  it('carry the RFC 7296 / IANA values', () => {
    expect(C.ExchangeType).toMatchObject({ IKE_SA_INIT: 34, IKE_AUTH: 35, CREATE_CHILD_SA: 36, INFORMATIONAL: 37, IKE_INTERMEDIATE: 43, IKE_FOLLOWUP_KE: 44 });
    expect(C.HeaderFlag).toEqual({ I: 0x08, V: 0x10, R: 0x20 });
    expect(C.PayloadType).toMatchObject({ NONE: 0, SA: 33, N: 41, SK: 46, EAP: 48, SKF: 53 });
    expect(C.NotifyType).toMatchObject({
      UNSUPPORTED_CRITICAL_PAYLOAD: 1,
      INVALID_SYNTAX: 7,
      NO_PROPOSAL_CHOSEN: 14,
      INVALID_KE_PAYLOAD: 17,
      AUTHENTICATION_FAILED: 24,
      TS_UNACCEPTABLE: 38,
      UNEXPECTED_NAT_DETECTED: 41,
      TEMPORARY_FAILURE: 43,
      TS_MAX_QUEUE: 48,
      INITIAL_CONTACT: 16384,
      NAT_DETECTION_SOURCE_IP: 16388,
      NAT_DETECTION_DESTINATION_IP: 16389,
      COOKIE: 16390,
      MOBIKE_SUPPORTED: 16396,
      REDIRECT: 16407,
      IKEV2_FRAGMENTATION_SUPPORTED: 16430,
      SIGNATURE_HASH_ALGORITHMS: 16431,
      INTERMEDIATE_EXCHANGE_SUPPORTED: 16438,
      SA_RESOURCE_INFO: 16444,
    });
    expect(C.EncrId).toMatchObject({ '3DES': 3, NULL: 11, AES_CBC: 12, AES_CTR: 13, AES_GCM_16: 20, CHACHA20_POLY1305: 28 });
    expect(C.PrfId).toMatchObject({ HMAC_SHA1: 2, AES128_XCBC: 4, HMAC_SHA2_512: 7 });
    expect(C.IntegId).toMatchObject({ NONE: 0, HMAC_SHA1_96: 2, AES_XCBC_96: 5, HMAC_SHA2_256_128: 12, HMAC_SHA2_512_256: 14 });
    expect(C.DhGroup).toMatchObject({ MODP_1024: 2, MODP_2048: 14, ECP_256: 19, CURVE25519: 31, CURVE448: 32 });
    expect(C.ProtocolId).toMatchObject({ IKE: 1, AH: 2, ESP: 3 });
    expect(C.IdType).toMatchObject({ IPV4_ADDR: 1, FQDN: 2, RFC822_ADDR: 3, IPV6_ADDR: 5, DER_ASN1_DN: 9, KEY_ID: 11 });
    expect(C.AuthMethod).toMatchObject({ RSA_DIGITAL_SIGNATURE: 1, SHARED_KEY_MIC: 2, ECDSA_SHA256_P256: 9, DIGITAL_SIGNATURE: 14 });
    expect(C.TsType).toMatchObject({ IPV4_ADDR_RANGE: 7, IPV6_ADDR_RANGE: 8 });
    expect(C.TransformAttributeType.KEY_LENGTH).toBe(14);
  });

  it('the notify table covers every error type 1..49 that IANA assigns and status types 16384..16447 without gaps', () => {
    const values = new Set<number>(Object.values(C.NotifyType));
    for (let t = 16384; t <= 16447; t++) expect(values.has(t), `status ${t}`).toBe(true);
    const unassignedErrors = [2, 3, 6, 8, 10, 12, 13, 15, 16, 18, 19, 20, 21, 22, 23, 25, 26, 27, 28, 29, 30, 31, 32, 33];
    for (let t = 1; t <= 49; t++) expect(values.has(t), `error ${t}`).toBe(!unassignedErrors.includes(t));
    expect(C.isErrorNotify(C.NotifyType.INVALID_SYNTAX)).toBe(true);
    expect(C.isErrorNotify(C.NotifyType.COOKIE)).toBe(false);
  });

  it('no table assigns one value twice', () => {
    const tables = [C.ExchangeType, C.PayloadType, C.NotifyType, C.TransformType, C.EncrId, C.PrfId, C.IntegId, C.DhGroup, C.EsnId, C.ProtocolId, C.IdType, C.CertEncoding, C.AuthMethod, C.TsType, C.CfgType, C.CfgAttributeType, C.EapCode];
    for (const t of tables) {
      const v = Object.values(t);
      expect(new Set(v).size).toBe(v.length);
    }
  });

  it('looks names up by value', () => {
    expect(C.exchangeTypeName(35)).toBe('IKE_AUTH');
    expect(C.payloadTypeName(53)).toBe('SKF');
    expect(C.notifyTypeName(16388)).toBe('NAT_DETECTION_SOURCE_IP');
    expect(C.notifyTypeName(9999)).toBeUndefined();
    expect(C.transformIdName(C.TransformType.ENCR, 20)).toBe('AES_GCM_16');
    expect(C.transformIdName(C.TransformType.KE, 31)).toBe('CURVE25519');
    expect(C.transformIdName(C.TransformType.ADDKE1, 36)).toBe('ML_KEM_768');
    expect(C.transformIdName(99, 1)).toBeUndefined();
    expect(C.describeValue(C.notifyTypeName, 'notify', 40000)).toBe('notify(40000)');
    expect(C.describeValue(C.authMethodName, 'auth', 2)).toBe('SHARED_KEY_MIC');
  });
});
