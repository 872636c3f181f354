/**
 * IKEv1 / ISAKMP numbers: RFC 2408 (ISAKMP), RFC 2407 (IPsec DOI), RFC 2409 (IKE,
 * Oakley attributes), RFC 3947 (NAT-T), RFC 3706 (DPD), draft-dukes-ike-mode-cfg and
 * draft-beaulieu-ike-xauth (Mode-CFG / XAUTH). Each enumeration is an `as const`
 * object with its union type and a name lookup that never throws.
 */

type ValueOf<T> = T[keyof T];

/** Builds a lookup that names a number, falling back to "unknown (n)" or a range label. */
function namer(names: Readonly<Record<number, string>>, fallback?: (v: number) => string | undefined): (v: number) => string {
  return (v) => names[v] ?? fallback?.(v) ?? `unknown (${v})`;
}

/** The ISAKMP major version this module decodes (RFC 2408 §3.1). */
export const ISAKMP_MAJOR_VERSION = 1;
export const ISAKMP_MINOR_VERSION = 0;
export const ISAKMP_HEADER_LENGTH = 28;
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;

// ---------------------------------------------------------------------------
// Exchange types (RFC 2408 §3.1, RFC 2409 §5, Mode-CFG transaction exchange)

export const ExchangeType = {
  NONE: 0,
  BASE: 1,
  IDENTITY_PROTECTION: 2,
  AUTHENTICATION_ONLY: 3,
  AGGRESSIVE: 4,
  INFORMATIONAL: 5,
  TRANSACTION: 6,
  QUICK_MODE: 32,
  NEW_GROUP: 33,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;

export const exchangeTypeName = namer(
  {
    0: 'NONE',
    1: 'Base',
    2: 'Identity Protection (Main Mode)',
    3: 'Authentication Only',
    4: 'Aggressive',
    5: 'Informational',
    6: 'Transaction (Mode-CFG)',
    32: 'Quick Mode',
    33: 'New Group Mode',
  },
  (v) => (v >= 240 ? `private use (${v})` : undefined),
);

// ---------------------------------------------------------------------------
// Header flags (RFC 2408 §3.1)

export const IsakmpFlag = {
  ENCRYPTION: 0x01,
  COMMIT: 0x02,
  AUTHENTICATION_ONLY: 0x04,
} as const;
export type IsakmpFlag = ValueOf<typeof IsakmpFlag>;

/** "E", "C", "A" letters for the set flags (tcpdump style), e.g. "EC"; unknown bits as "+0x..". */
export function flagsText(flags: number): string {
  let s = '';
  if (flags & IsakmpFlag.ENCRYPTION) s += 'E';
  if (flags & IsakmpFlag.COMMIT) s += 'C';
  if (flags & IsakmpFlag.AUTHENTICATION_ONLY) s += 'A';
  const rest = flags & ~0x07 & 0xff;
  if (rest) s += `+0x${rest.toString(16)}`;
  return s;
}

// ---------------------------------------------------------------------------
// Payload types (RFC 2408 §3.1; 14 Mode-CFG; 15-19, 22 GDOI RFC 6407; 20/21 RFC 3947;
// 130/131 NAT-T drafts 01-03; 132 Cisco/Microsoft IKE fragmentation)

export const PayloadType = {
  NONE: 0,
  SA: 1,
  PROPOSAL: 2,
  TRANSFORM: 3,
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  N: 11,
  D: 12,
  VID: 13,
  ATTR: 14,
  /** GDOI SA KEK (RFC 6407); also NAT-D in draft-ietf-ipsec-nat-t-ike-04..08 (see NAT_D_DRAFT_LATE). */
  SAK: 15,
  /** GDOI SA TEK (RFC 6407); also NAT-OA in draft-ietf-ipsec-nat-t-ike-05..08. */
  SAT: 16,
  KD: 17,
  SEQ: 18,
  POP: 19,
  NAT_D: 20,
  NAT_OA: 21,
  GAP: 22,
  /** NAT-D of draft-ietf-ipsec-nat-t-ike-04..08, as sent by e.g. older Mac OS X / Cisco peers. */
  NAT_D_DRAFT_LATE: 15,
  NAT_OA_DRAFT_LATE: 16,
  /** NAT-D and NAT-OA of draft-ietf-ipsec-nat-t-ike-01..03 (private-use numbers). */
  NAT_D_DRAFT: 130,
  NAT_OA_DRAFT: 131,
  FRAGMENT: 132,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;

/** The three numbers a NAT-D payload is seen under. */
export const NAT_D_TYPES = [PayloadType.NAT_D, PayloadType.NAT_D_DRAFT, PayloadType.NAT_D_DRAFT_LATE] as const;
export type NatDType = (typeof NAT_D_TYPES)[number];
/** The three numbers a NAT-OA payload is seen under. */
export const NAT_OA_TYPES = [PayloadType.NAT_OA, PayloadType.NAT_OA_DRAFT, PayloadType.NAT_OA_DRAFT_LATE] as const;
export type NatOaType = (typeof NAT_OA_TYPES)[number];

export const payloadTypeName = namer(
  {
    0: 'NONE',
    1: 'SA',
    2: 'Proposal',
    3: 'Transform',
    4: 'KE',
    5: 'ID',
    6: 'CERT',
    7: 'CR',
    8: 'HASH',
    9: 'SIG',
    10: 'NONCE',
    11: 'N',
    12: 'D',
    13: 'VID',
    14: 'ATTR (Mode-CFG)',
    15: 'NAT-D (draft-04..08) / SAK',
    16: 'NAT-OA (draft-05..08) / SAT',
    17: 'KD',
    18: 'SEQ',
    19: 'POP',
    20: 'NAT-D',
    21: 'NAT-OA',
    22: 'GAP',
    130: 'NAT-D (draft-01..03)',
    131: 'NAT-OA (draft-01..04)',
    132: 'FRAGMENT',
  },
  (v) => (v >= 128 ? `private use (${v})` : undefined),
);

// ---------------------------------------------------------------------------
// Domain of Interpretation, situation (RFC 2407 §4.2), protocol IDs (RFC 2407 §4.4.1)

export const Doi = {
  ISAKMP: 0,
  IPSEC: 1,
} as const;
export type Doi = ValueOf<typeof Doi>;
export const doiName = namer({ 0: 'ISAKMP', 1: 'IPsec' });

export const Situation = {
  IDENTITY_ONLY: 0x01,
  SECRECY: 0x02,
  INTEGRITY: 0x04,
} as const;
export type Situation = ValueOf<typeof Situation>;

export const ProtocolId = {
  RESERVED: 0,
  ISAKMP: 1,
  IPSEC_AH: 2,
  IPSEC_ESP: 3,
  IPCOMP: 4,
} as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;
export const protocolIdName = namer({ 0: 'RESERVED', 1: 'ISAKMP', 2: 'AH', 3: 'ESP', 4: 'IPCOMP' });

// ---------------------------------------------------------------------------
// Transform IDs (RFC 2407 §4.4.2-4.4.5; AES RFC 3602, AES-CTR/CCM/GCM RFC 3686/4309/4106)

export const IsakmpTransformId = { KEY_IKE: 1 } as const;
export type IsakmpTransformId = ValueOf<typeof IsakmpTransformId>;

export const AhTransformId = {
  AH_MD5: 2,
  AH_SHA: 3,
  AH_DES: 4,
  AH_SHA2_256: 5,
  AH_SHA2_384: 6,
  AH_SHA2_512: 7,
} as const;
export type AhTransformId = ValueOf<typeof AhTransformId>;

export const EspTransformId = {
  ESP_DES_IV64: 1,
  ESP_DES: 2,
  ESP_3DES: 3,
  ESP_RC5: 4,
  ESP_IDEA: 5,
  ESP_CAST: 6,
  ESP_BLOWFISH: 7,
  ESP_3IDEA: 8,
  ESP_DES_IV32: 9,
  ESP_RC4: 10,
  ESP_NULL: 11,
  ESP_AES: 12,
  ESP_AES_CTR: 13,
  ESP_AES_CCM_8: 14,
  ESP_AES_CCM_12: 15,
  ESP_AES_CCM_16: 16,
  ESP_AES_GCM_8: 18,
  ESP_AES_GCM_12: 19,
  ESP_AES_GCM_16: 20,
} as const;
export type EspTransformId = ValueOf<typeof EspTransformId>;

export const IpcompTransformId = { IPCOMP_OUI: 1, IPCOMP_DEFLATE: 2, IPCOMP_LZS: 3 } as const;
export type IpcompTransformId = ValueOf<typeof IpcompTransformId>;

const ESP_TRANSFORM_NAMES: Record<number, string> = {
  1: 'DES-IV64', 2: 'DES', 3: '3DES', 4: 'RC5', 5: 'IDEA', 6: 'CAST', 7: 'BLOWFISH', 8: '3IDEA',
  9: 'DES-IV32', 10: 'RC4', 11: 'NULL', 12: 'AES', 13: 'AES-CTR', 14: 'AES-CCM-8', 15: 'AES-CCM-12',
  16: 'AES-CCM-16', 18: 'AES-GCM-8', 19: 'AES-GCM-12', 20: 'AES-GCM-16',
};
const AH_TRANSFORM_NAMES: Record<number, string> = {
  2: 'MD5', 3: 'SHA', 4: 'DES', 5: 'SHA2-256', 6: 'SHA2-384', 7: 'SHA2-512',
};

/** Names a transform ID in the context of the proposal's protocol. */
export function transformIdName(protocolId: number, transformId: number): string {
  const table: Record<number, string> =
    protocolId === ProtocolId.ISAKMP ? { 1: 'KEY_IKE' }
    : protocolId === ProtocolId.IPSEC_ESP ? ESP_TRANSFORM_NAMES
    : protocolId === ProtocolId.IPSEC_AH ? AH_TRANSFORM_NAMES
    : protocolId === ProtocolId.IPCOMP ? { 1: 'OUI', 2: 'DEFLATE', 3: 'LZS' }
    : {};
  return table[transformId] ?? `unknown (${transformId})`;
}

// ---------------------------------------------------------------------------
// Oakley (phase 1) attribute classes and values (RFC 2409 Appendix A)

export const OakleyAttr = {
  ENCRYPTION_ALGORITHM: 1,
  HASH_ALGORITHM: 2,
  AUTHENTICATION_METHOD: 3,
  GROUP_DESCRIPTION: 4,
  GROUP_TYPE: 5,
  GROUP_PRIME: 6,
  GROUP_GENERATOR_ONE: 7,
  GROUP_GENERATOR_TWO: 8,
  GROUP_CURVE_A: 9,
  GROUP_CURVE_B: 10,
  LIFE_TYPE: 11,
  LIFE_DURATION: 12,
  PRF: 13,
  KEY_LENGTH: 14,
  FIELD_SIZE: 15,
  GROUP_ORDER: 16,
} as const;
export type OakleyAttr = ValueOf<typeof OakleyAttr>;
export const oakleyAttrName = namer({
  1: 'Encryption Algorithm', 2: 'Hash Algorithm', 3: 'Authentication Method', 4: 'Group Description',
  5: 'Group Type', 6: 'Group Prime/Irreducible Polynomial', 7: 'Group Generator One',
  8: 'Group Generator Two', 9: 'Group Curve A', 10: 'Group Curve B', 11: 'Life Type',
  12: 'Life Duration', 13: 'PRF', 14: 'Key Length', 15: 'Field Size', 16: 'Group Order',
});

export const OakleyEncryption = {
  DES_CBC: 1,
  IDEA_CBC: 2,
  BLOWFISH_CBC: 3,
  RC5_R16_B64_CBC: 4,
  TRIPLE_DES_CBC: 5,
  CAST_CBC: 6,
  AES_CBC: 7,
  CAMELLIA_CBC: 8,
} as const;
export type OakleyEncryption = ValueOf<typeof OakleyEncryption>;
export const oakleyEncryptionName = namer({
  1: 'DES-CBC', 2: 'IDEA-CBC', 3: 'Blowfish-CBC', 4: 'RC5-R16-B64-CBC', 5: '3DES-CBC', 6: 'CAST-CBC',
  7: 'AES-CBC', 8: 'CAMELLIA-CBC',
});

export const OakleyHash = {
  MD5: 1,
  SHA: 2,
  TIGER: 3,
  SHA2_256: 4,
  SHA2_384: 5,
  SHA2_512: 6,
} as const;
export type OakleyHash = ValueOf<typeof OakleyHash>;
export const oakleyHashName = namer({ 1: 'MD5', 2: 'SHA', 3: 'Tiger', 4: 'SHA2-256', 5: 'SHA2-384', 6: 'SHA2-512' });

export const OakleyAuthMethod = {
  PRE_SHARED_KEY: 1,
  DSS_SIGNATURES: 2,
  RSA_SIGNATURES: 3,
  RSA_ENCRYPTION: 4,
  RSA_REVISED_ENCRYPTION: 5,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  HYBRID_INIT_RSA: 64221,
  HYBRID_RESP_RSA: 64222,
  HYBRID_INIT_DSS: 64223,
  HYBRID_RESP_DSS: 64224,
  XAUTH_INIT_PRE_SHARED: 65001,
  XAUTH_RESP_PRE_SHARED: 65002,
  XAUTH_INIT_DSS: 65003,
  XAUTH_RESP_DSS: 65004,
  XAUTH_INIT_RSA: 65005,
  XAUTH_RESP_RSA: 65006,
  XAUTH_INIT_RSA_ENCRYPTION: 65007,
  XAUTH_RESP_RSA_ENCRYPTION: 65008,
  XAUTH_INIT_RSA_REVISED_ENCRYPTION: 65009,
  XAUTH_RESP_RSA_REVISED_ENCRYPTION: 65010,
} as const;
export type OakleyAuthMethod = ValueOf<typeof OakleyAuthMethod>;
export const oakleyAuthMethodName = namer({
  1: 'pre-shared key', 2: 'DSS signatures', 3: 'RSA signatures', 4: 'RSA encryption',
  5: 'revised RSA encryption', 9: 'ECDSA P-256', 10: 'ECDSA P-384', 11: 'ECDSA P-521',
  64221: 'HybridInitRSA', 64222: 'HybridRespRSA', 64223: 'HybridInitDSS', 64224: 'HybridRespDSS',
  65001: 'XAUTHInitPreShared', 65002: 'XAUTHRespPreShared', 65003: 'XAUTHInitDSS', 65004: 'XAUTHRespDSS',
  65005: 'XAUTHInitRSA', 65006: 'XAUTHRespRSA', 65007: 'XAUTHInitRSAEncryption',
  65008: 'XAUTHRespRSAEncryption', 65009: 'XAUTHInitRSARevisedEncryption',
  65010: 'XAUTHRespRSARevisedEncryption',
});

/** Oakley group description values (RFC 2409, RFC 3526, RFC 5903). */
export const OakleyGroup = {
  MODP_768: 1,
  MODP_1024: 2,
  EC2N_155: 3,
  EC2N_185: 4,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
} as const;
export type OakleyGroup = ValueOf<typeof OakleyGroup>;
export const oakleyGroupName = namer({
  1: 'MODP-768', 2: 'MODP-1024', 3: 'EC2N-155', 4: 'EC2N-185', 5: 'MODP-1536', 14: 'MODP-2048',
  15: 'MODP-3072', 16: 'MODP-4096', 17: 'MODP-6144', 18: 'MODP-8192', 19: 'ECP-256', 20: 'ECP-384',
  21: 'ECP-521',
});

export const LifeType = { SECONDS: 1, KILOBYTES: 2 } as const;
export type LifeType = ValueOf<typeof LifeType>;
export const lifeTypeName = namer({ 1: 'seconds', 2: 'kilobytes' });

// ---------------------------------------------------------------------------
// IPsec DOI (phase 2) SA attributes (RFC 2407 §4.5, RFC 3947 §5.1)

export const IpsecAttr = {
  SA_LIFE_TYPE: 1,
  SA_LIFE_DURATION: 2,
  GROUP_DESCRIPTION: 3,
  ENCAPSULATION_MODE: 4,
  AUTHENTICATION_ALGORITHM: 5,
  KEY_LENGTH: 6,
  KEY_ROUNDS: 7,
  COMPRESS_DICTIONARY_SIZE: 8,
  COMPRESS_PRIVATE_ALGORITHM: 9,
} as const;
export type IpsecAttr = ValueOf<typeof IpsecAttr>;
export const ipsecAttrName = namer({
  1: 'SA Life Type', 2: 'SA Life Duration', 3: 'Group Description', 4: 'Encapsulation Mode',
  5: 'Authentication Algorithm', 6: 'Key Length', 7: 'Key Rounds', 8: 'Compress Dictionary Size',
  9: 'Compress Private Algorithm',
});

export const EncapsulationMode = {
  TUNNEL: 1,
  TRANSPORT: 2,
  /** RFC 3947 §5.1. */
  UDP_ENCAPSULATED_TUNNEL: 3,
  UDP_ENCAPSULATED_TRANSPORT: 4,
  /** draft-ietf-ipsec-nat-t-ike-00..08 private-use values. */
  UDP_ENCAPSULATED_TUNNEL_DRAFT: 61443,
  UDP_ENCAPSULATED_TRANSPORT_DRAFT: 61444,
} as const;
export type EncapsulationMode = ValueOf<typeof EncapsulationMode>;
export const encapsulationModeName = namer({
  1: 'Tunnel', 2: 'Transport', 3: 'UDP-Encapsulated-Tunnel', 4: 'UDP-Encapsulated-Transport',
  61443: 'UDP-Encapsulated-Tunnel (draft)', 61444: 'UDP-Encapsulated-Transport (draft)',
});

/** True for the four encapsulation modes that put ESP in UDP (RFC 3947 and its drafts). */
export function isUdpEncapsulationMode(mode: number): boolean {
  return mode === 3 || mode === 4 || mode === 61443 || mode === 61444;
}

export const IpsecAuthAlgorithm = {
  HMAC_MD5: 1,
  HMAC_SHA: 2,
  DES_MAC: 3,
  KPDK: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
} as const;
export type IpsecAuthAlgorithm = ValueOf<typeof IpsecAuthAlgorithm>;
export const ipsecAuthAlgorithmName = namer({
  1: 'HMAC-MD5', 2: 'HMAC-SHA', 3: 'DES-MAC', 4: 'KPDK', 5: 'HMAC-SHA2-256', 6: 'HMAC-SHA2-384',
  7: 'HMAC-SHA2-512',
});

// ---------------------------------------------------------------------------
// Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3, RFC 3706)

export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1,
  DOI_NOT_SUPPORTED: 2,
  SITUATION_NOT_SUPPORTED: 3,
  INVALID_COOKIE: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6,
  INVALID_EXCHANGE_TYPE: 7,
  INVALID_FLAGS: 8,
  INVALID_MESSAGE_ID: 9,
  INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12,
  ATTRIBUTES_NOT_SUPPORTED: 13,
  NO_PROPOSAL_CHOSEN: 14,
  BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16,
  INVALID_KEY_INFORMATION: 17,
  INVALID_ID_INFORMATION: 18,
  INVALID_CERT_ENCODING: 19,
  INVALID_CERTIFICATE: 20,
  CERT_TYPE_UNSUPPORTED: 21,
  INVALID_CERT_AUTHORITY: 22,
  INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24,
  INVALID_SIGNATURE: 25,
  ADDRESS_NOTIFICATION: 26,
  NOTIFY_SA_LIFETIME: 27,
  CERTIFICATE_UNAVAILABLE: 28,
  UNSUPPORTED_EXCHANGE_TYPE: 29,
  UNEQUAL_PAYLOAD_LENGTHS: 30,
  CONNECTED: 16384,
  RESPONDER_LIFETIME: 24576,
  REPLAY_STATUS: 24577,
  INITIAL_CONTACT: 24578,
  R_U_THERE: 36136,
  R_U_THERE_ACK: 36137,
} as const;
export type NotifyType = ValueOf<typeof NotifyType>;

const NOTIFY_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(NotifyType)) NOTIFY_NAMES[v] = k.replace(/_/g, '-');
export const notifyTypeName = namer(NOTIFY_NAMES, (v) =>
  v >= 1 && v <= 8191 ? `error (${v})` : v >= 8192 && v <= 16383 ? `private error (${v})` : v >= 16384 ? `status (${v})` : undefined,
);

/** RFC 2408 §3.14.1: types 1..16383 are errors, 16384 and above are status. */
export function isErrorNotify(type: number): boolean {
  return type >= 1 && type < 16384;
}

// ---------------------------------------------------------------------------
// Identification types (RFC 2407 §4.6.2.1; ID_LIST RFC 3554)

export const IdType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  USER_FQDN: 3,
  IPV4_ADDR_SUBNET: 4,
  IPV6_ADDR: 5,
  IPV6_ADDR_SUBNET: 6,
  IPV4_ADDR_RANGE: 7,
  IPV6_ADDR_RANGE: 8,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
  LIST: 12,
} as const;
export type IdType = ValueOf<typeof IdType>;
export const idTypeName = namer({
  1: 'ID_IPV4_ADDR', 2: 'ID_FQDN', 3: 'ID_USER_FQDN', 4: 'ID_IPV4_ADDR_SUBNET', 5: 'ID_IPV6_ADDR',
  6: 'ID_IPV6_ADDR_SUBNET', 7: 'ID_IPV4_ADDR_RANGE', 8: 'ID_IPV6_ADDR_RANGE', 9: 'ID_DER_ASN1_DN',
  10: 'ID_DER_ASN1_GN', 11: 'ID_KEY_ID', 12: 'ID_LIST',
});

// ---------------------------------------------------------------------------
// Certificate encodings (RFC 2408 §3.9)

export const CertEncoding = {
  NONE: 0,
  PKCS7: 1,
  PGP: 2,
  DNS_SIGNED_KEY: 3,
  X509_SIGNATURE: 4,
  X509_KEY_EXCHANGE: 5,
  KERBEROS: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509_ATTRIBUTE: 10,
} as const;
export type CertEncoding = ValueOf<typeof CertEncoding>;
export const certEncodingName = namer({
  0: 'NONE', 1: 'PKCS #7', 2: 'PGP', 3: 'DNS Signed Key', 4: 'X.509 Signature',
  5: 'X.509 Key Exchange', 6: 'Kerberos Tokens', 7: 'CRL', 8: 'ARL', 9: 'SPKI', 10: 'X.509 Attribute',
});

// ---------------------------------------------------------------------------
// Mode-CFG (draft-dukes-ike-mode-cfg) and XAUTH (draft-beaulieu-ike-xauth)

export const CfgType = { REQUEST: 1, REPLY: 2, SET: 3, ACK: 4 } as const;
export type CfgType = ValueOf<typeof CfgType>;
export const cfgTypeName = namer({ 1: 'ISAKMP_CFG_REQUEST', 2: 'ISAKMP_CFG_REPLY', 3: 'ISAKMP_CFG_SET', 4: 'ISAKMP_CFG_ACK' });

export const CfgAttr = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_ADDRESS_EXPIRY: 5,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_NETMASK: 9,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_NBNS: 11,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  XAUTH_TYPE: 16520,
  XAUTH_USER_NAME: 16521,
  XAUTH_USER_PASSWORD: 16522,
  XAUTH_PASSCODE: 16523,
  XAUTH_MESSAGE: 16524,
  XAUTH_CHALLENGE: 16525,
  XAUTH_DOMAIN: 16526,
  XAUTH_STATUS: 16527,
  XAUTH_NEXT_PIN: 16528,
  XAUTH_ANSWER: 16529,
} as const;
export type CfgAttr = ValueOf<typeof CfgAttr>;
const CFG_ATTR_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(CfgAttr)) CFG_ATTR_NAMES[v] = k;
export const cfgAttrName = namer(CFG_ATTR_NAMES);

/** Flag bit of the Cisco/Microsoft IKE fragmentation payload (132): this is the last fragment. */
export const FRAGMENT_FLAG_LAST = 0x01;
