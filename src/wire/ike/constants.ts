/**
 * IKEv2 registry values (RFC 7296 §3 and the IANA "Internet Key Exchange Version 2
 * (IKEv2) Parameters" registries), as `as const` tables with a union type each and
 * a reverse lookup from value to name.
 *
 * Values outside a table are legal on the wire (unassigned or private use); codecs
 * carry them as plain numbers and the name lookups return undefined for them.
 */

type Table = Readonly<Record<string, number>>;

/** Reverse lookup for a table: value → name (the first name listed for that value). */
function namer<T extends Table>(table: T): (value: number) => (keyof T & string) | undefined {
  const byValue = new Map<number, keyof T & string>();
  for (const [name, value] of Object.entries(table)) if (!byValue.has(value)) byValue.set(value, name as keyof T & string);
  return (value) => byValue.get(value);
}

/** "NAME" when known, else "what(value)", for logs and error messages. */
export function describeValue(lookup: (v: number) => string | undefined, what: string, value: number): string {
  return lookup(value) ?? `${what}(${value})`;
}

/** IKE header version byte: major 2, minor 0 (RFC 7296 §3.1). */
export const IKE_MAJOR_VERSION = 2;
export const IKE_MINOR_VERSION = 0;
/** The fixed IKE header is 28 bytes; the generic payload header 4. */
export const IKE_HEADER_LENGTH = 28;
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;

/** IANA "IKEv2 Exchange Types". */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_SESSION_RESUME: 38, // RFC 5723
  GSA_AUTH: 39, // G-IKEv2
  GSA_REGISTRATION: 40,
  GSA_REKEY: 41,
  GSA_INBAND_REKEY: 42,
  IKE_INTERMEDIATE: 43, // RFC 9242
  IKE_FOLLOWUP_KE: 44, // RFC 9370
} as const;
export type ExchangeType = (typeof ExchangeType)[keyof typeof ExchangeType];
export const exchangeTypeName = namer(ExchangeType);

/** IKE header flags (RFC 7296 §3.1); the other five bits are reserved. */
export const HeaderFlag = {
  /** Initiator: set by the original initiator of the IKE SA. */
  I: 0x08,
  /** Version: the sender can speak a higher major version. */
  V: 0x10,
  /** Response: this message answers a request with the same Message ID. */
  R: 0x20,
} as const;
export type HeaderFlag = (typeof HeaderFlag)[keyof typeof HeaderFlag];

/** IANA "IKEv2 Payload Types" (the next-payload values). */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  N: 41,
  D: 42,
  V: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  GSPM: 49, // RFC 6467
  IDg: 50, // G-IKEv2
  GSA: 51,
  KD: 52,
  SKF: 53, // RFC 7383
  PS: 54, // RFC 8019
} as const;
export type PayloadType = (typeof PayloadType)[keyof typeof PayloadType];
export const payloadTypeName = namer(PayloadType);

/**
 * IANA "IKEv2 Notify Message Error Types" (1..16383) and "Status Types" (16384..).
 * Error types are answered with; status types carry information.
 */
export const NotifyType = {
  // Error types
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  UNACCEPTABLE_ADDRESSES: 40, // RFC 4555
  UNEXPECTED_NAT_DETECTED: 41, // RFC 4555
  USE_ASSIGNED_HoA: 42, // RFC 5026
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  INVALID_GROUP_ID: 45, // G-IKEv2
  AUTHORIZATION_FAILED: 46, // G-IKEv2
  STATE_NOT_FOUND: 47, // RFC 9370
  TS_MAX_QUEUE: 48, // RFC 9611
  REGISTRATION_FAILED: 49, // G-IKEv2
  // Status types
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396, // RFC 4555
  ADDITIONAL_IP4_ADDRESS: 16397,
  ADDITIONAL_IP6_ADDRESS: 16398,
  NO_ADDITIONAL_ADDRESSES: 16399,
  UPDATE_SA_ADDRESSES: 16400,
  COOKIE2: 16401,
  NO_NATS_ALLOWED: 16402,
  AUTH_LIFETIME: 16403, // RFC 4478
  MULTIPLE_AUTH_SUPPORTED: 16404, // RFC 4739
  ANOTHER_AUTH_FOLLOWS: 16405,
  REDIRECT_SUPPORTED: 16406, // RFC 5685
  REDIRECT: 16407,
  REDIRECTED_FROM: 16408,
  TICKET_LT_OPAQUE: 16409, // RFC 5723
  TICKET_REQUEST: 16410,
  TICKET_ACK: 16411,
  TICKET_NACK: 16412,
  TICKET_OPAQUE: 16413,
  LINK_ID: 16414, // RFC 5739
  USE_WESP_MODE: 16415, // RFC 5840
  ROHC_SUPPORTED: 16416, // RFC 5857
  EAP_ONLY_AUTHENTICATION: 16417, // RFC 5998
  CHILDLESS_IKEV2_SUPPORTED: 16418, // RFC 6023
  QUICK_CRASH_DETECTION: 16419, // RFC 6290
  IKEV2_MESSAGE_ID_SYNC_SUPPORTED: 16420, // RFC 6311
  IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED: 16421,
  IKEV2_MESSAGE_ID_SYNC: 16422,
  IPSEC_REPLAY_COUNTER_SYNC: 16423,
  SECURE_PASSWORD_METHODS: 16424, // RFC 6467
  PSK_PERSIST: 16425, // RFC 6631
  PSK_CONFIRM: 16426,
  ERX_SUPPORTED: 16427, // RFC 6867
  IFOM_CAPABILITY: 16428, // 3GPP TS 24.303
  GROUP_SENDER: 16429, // G-IKEv2 (formerly SENDER_REQUEST_ID)
  IKEV2_FRAGMENTATION_SUPPORTED: 16430, // RFC 7383
  SIGNATURE_HASH_ALGORITHMS: 16431, // RFC 7427
  CLONE_IKE_SA_SUPPORTED: 16432, // RFC 7791
  CLONE_IKE_SA: 16433,
  PUZZLE: 16434, // RFC 8019
  USE_PPK: 16435, // RFC 8784
  PPK_IDENTITY: 16436,
  NO_PPK_AUTH: 16437,
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438, // RFC 9242
  IP4_ALLOWED: 16439, // RFC 8983
  IP6_ALLOWED: 16440,
  ADDITIONAL_KEY_EXCHANGE: 16441, // RFC 9370
  USE_AGGFRAG: 16442, // RFC 9347
  SUPPORTED_AUTH_METHODS: 16443, // RFC 9593
  SA_RESOURCE_INFO: 16444, // RFC 9611
  USE_PPK_INT: 16445, // RFC 9867
  PPK_IDENTITY_KEY: 16446,
  IKE_SA_INIT_FULL_TRANSCRIPT_AUTH: 16447,
} as const;
export type NotifyType = (typeof NotifyType)[keyof typeof NotifyType];
export const notifyTypeName = namer(NotifyType);
/** Notify types below 16384 report errors (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;
export function isErrorNotify(notifyType: number): boolean {
  return notifyType < NOTIFY_STATUS_MIN;
}

/** IANA "Transform Type Values" (RFC 7296 §3.3.2, RFC 9370). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  /** Key exchange method (formerly "Diffie-Hellman group"). */
  KE: 4,
  /** Sequence numbers (formerly "Extended Sequence Numbers"). */
  ESN: 5,
  ADDKE1: 6,
  ADDKE2: 7,
  ADDKE3: 8,
  ADDKE4: 9,
  ADDKE5: 10,
  ADDKE6: 11,
  ADDKE7: 12,
  KWA: 13, // G-IKEv2 key wrap algorithm
  GCAUTH: 14, // G-IKEv2 group controller authentication
} as const;
export type TransformType = (typeof TransformType)[keyof typeof TransformType];
export const transformTypeName = namer(TransformType);

/** Transform Type 1: encryption algorithm IDs. */
export const EncrId = {
  DES_IV64: 1,
  DES: 2,
  '3DES': 3,
  RC5: 4,
  IDEA: 5,
  CAST: 6,
  BLOWFISH: 7,
  '3IDEA': 8,
  DES_IV32: 9,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_CCM_8: 14,
  AES_CCM_12: 15,
  AES_CCM_16: 16,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  NULL_AUTH_AES_GMAC: 21,
  CAMELLIA_CBC: 23,
  CAMELLIA_CTR: 24,
  CAMELLIA_CCM_8: 25,
  CAMELLIA_CCM_12: 26,
  CAMELLIA_CCM_16: 27,
  CHACHA20_POLY1305: 28,
  AES_CCM_8_IIV: 29,
  AES_GCM_16_IIV: 30,
  CHACHA20_POLY1305_IIV: 31,
  KUZNYECHIK_MGM_KTREE: 32,
  MAGMA_MGM_KTREE: 33,
  KUZNYECHIK_MGM_MAC_KTREE: 34,
  MAGMA_MGM_MAC_KTREE: 35,
} as const;
export type EncrId = (typeof EncrId)[keyof typeof EncrId];

/** Transform Type 2: pseudorandom function IDs. */
export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  HMAC_TIGER: 3,
  AES128_XCBC: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  AES128_CMAC: 8,
  HMAC_STREEBOG_512: 9,
} as const;
export type PrfId = (typeof PrfId)[keyof typeof PrfId];

/** Transform Type 3: integrity algorithm IDs. */
export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  DES_MAC: 3,
  KPDK_MD5: 4,
  AES_XCBC_96: 5,
  HMAC_MD5_128: 6,
  HMAC_SHA1_160: 7,
  AES_CMAC_96: 8,
  AES_128_GMAC: 9,
  AES_192_GMAC: 10,
  AES_256_GMAC: 11,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;
export type IntegId = (typeof IntegId)[keyof typeof IntegId];

/** Transform Type 4: key exchange method (Diffie-Hellman group) IDs. */
export const DhGroup = {
  NONE: 0,
  MODP_768: 1,
  MODP_1024: 2,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  MODP_1024_S160: 22,
  MODP_2048_S224: 23,
  MODP_2048_S256: 24,
  ECP_192: 25,
  ECP_224: 26,
  BRAINPOOL_P224R1: 27,
  BRAINPOOL_P256R1: 28,
  BRAINPOOL_P384R1: 29,
  BRAINPOOL_P512R1: 30,
  CURVE25519: 31,
  CURVE448: 32,
  GOST3410_2012_256: 33,
  GOST3410_2012_512: 34,
  ML_KEM_512: 35,
  ML_KEM_768: 36,
  ML_KEM_1024: 37,
} as const;
export type DhGroup = (typeof DhGroup)[keyof typeof DhGroup];

/** Transform Type 5: (extended) sequence number IDs. */
export const EsnId = {
  NO_ESN: 0,
  ESN: 1,
} as const;
export type EsnId = (typeof EsnId)[keyof typeof EsnId];

const transformIdNamers: Partial<Record<number, (v: number) => string | undefined>> = {
  [TransformType.ENCR]: namer(EncrId),
  [TransformType.PRF]: namer(PrfId),
  [TransformType.INTEG]: namer(IntegId),
  [TransformType.KE]: namer(DhGroup),
  [TransformType.ESN]: namer(EsnId),
};
for (let t: number = TransformType.ADDKE1; t <= TransformType.ADDKE7; t++) transformIdNamers[t] = transformIdNamers[TransformType.KE];

/** Name of a transform ID within its transform type. */
export function transformIdName(transformType: number, transformId: number): string | undefined {
  return transformIdNamers[transformType]?.(transformId);
}

/** IANA "IKEv2 Transform Attribute Types". Key Length is TV-encoded (AF = 1). */
export const TransformAttributeType = {
  KEY_LENGTH: 14,
} as const;
export type TransformAttributeType = (typeof TransformAttributeType)[keyof typeof TransformAttributeType];
export const transformAttributeTypeName = namer(TransformAttributeType);

/** IANA "IKEv2 Security Protocol Identifiers" (SA proposals, Notify, Delete). */
export const ProtocolId = {
  /** Not an assigned protocol: Notify and Delete use 0 when no SPI applies. */
  NONE: 0,
  IKE: 1,
  AH: 2,
  ESP: 3,
  FC_ESP_HEADER: 4,
  FC_CT_AUTHENTICATION: 5,
  GIKE_UPDATE: 6,
} as const;
export type ProtocolId = (typeof ProtocolId)[keyof typeof ProtocolId];
export const protocolIdName = namer(ProtocolId);

/** IANA "IKEv2 Identification Payload ID Types". */
export const IdType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  RFC822_ADDR: 3,
  IPV6_ADDR: 5,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
  FC_NAME: 12,
  NULL: 13, // RFC 7619
} as const;
export type IdType = (typeof IdType)[keyof typeof IdType];
export const idTypeName = namer(IdType);

/** IANA "IKEv2 Certificate Encodings" (CERT and CERTREQ). */
export const CertEncoding = {
  PKCS7_WRAPPED_X509: 1,
  PGP: 2,
  DNS_SIGNED_KEY: 3,
  X509_SIGNATURE: 4,
  KERBEROS_TOKEN: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509_ATTRIBUTE: 10,
  RAW_RSA_KEY: 11,
  HASH_URL_X509_CERT: 12,
  HASH_URL_X509_BUNDLE: 13,
  OCSP_CONTENT: 14, // RFC 4806
  RAW_PUBLIC_KEY: 15, // RFC 7670
} as const;
export type CertEncoding = (typeof CertEncoding)[keyof typeof CertEncoding];
export const certEncodingName = namer(CertEncoding);

/** IANA "IKEv2 Authentication Method". */
export const AuthMethod = {
  RSA_DIGITAL_SIGNATURE: 1,
  SHARED_KEY_MIC: 2,
  DSS_DIGITAL_SIGNATURE: 3,
  ECDSA_SHA256_P256: 9, // RFC 4754
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  GENERIC_SECURE_PASSWORD: 12, // RFC 6467
  NULL_AUTH: 13, // RFC 7619
  DIGITAL_SIGNATURE: 14, // RFC 7427
} as const;
export type AuthMethod = (typeof AuthMethod)[keyof typeof AuthMethod];
export const authMethodName = namer(AuthMethod);

/** IANA "IKEv2 Traffic Selector Types". */
export const TsType = {
  IPV4_ADDR_RANGE: 7,
  IPV6_ADDR_RANGE: 8,
  FC_ADDR_RANGE: 9, // RFC 4595
  SECLABEL: 10, // RFC 9478
} as const;
export type TsType = (typeof TsType)[keyof typeof TsType];
export const tsTypeName = namer(TsType);

/** IANA "IKEv2 Configuration Payload CFG Types". */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;
export type CfgType = (typeof CfgType)[keyof typeof CfgType];
export const cfgTypeName = namer(CfgType);

/** IANA "IKEv2 Configuration Payload Attribute Types". */
export const CfgAttributeType = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  MIP6_HOME_PREFIX: 16, // RFC 5026
  INTERNAL_IP6_LINK: 17, // RFC 5739
  INTERNAL_IP6_PREFIX: 18,
  HOME_AGENT_ADDRESS: 19, // 3GPP TS 24.302
  P_CSCF_IP4_ADDRESS: 20, // RFC 7651
  P_CSCF_IP6_ADDRESS: 21,
  FTT_KAT: 22,
  EXTERNAL_SOURCE_IP4_NAT_INFO: 23,
  TIMEOUT_PERIOD_FOR_LIVENESS_CHECK: 24,
  INTERNAL_DNS_DOMAIN: 25, // RFC 8598
  INTERNAL_DNSSEC_TA: 26,
  ENCDNS_IP4: 27, // RFC 9464
  ENCDNS_IP6: 28,
  ENCDNS_DIGEST_INFO: 29,
} as const;
export type CfgAttributeType = (typeof CfgAttributeType)[keyof typeof CfgAttributeType];
export const cfgAttributeTypeName = namer(CfgAttributeType);

/** EAP codes (RFC 3748 §4, RFC 6696). */
export const EapCode = {
  REQUEST: 1,
  RESPONSE: 2,
  SUCCESS: 3,
  FAILURE: 4,
  INITIATE: 5,
  FINISH: 6,
} as const;
export type EapCode = (typeof EapCode)[keyof typeof EapCode];
export const eapCodeName = namer(EapCode);
