/**
 * IKEv2 transform registries (IANA "Internet Key Exchange Version 2 (IKEv2)
 * Parameters", RFC 7296 §3.3.2) and the properties the engine and the ESP
 * datapath need from each: key, IV, salt, block and ICV sizes, and the
 * node:crypto names behind them.
 */

/** Transform Type (RFC 7296 §3.3.2). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  DH: 4,
  ESN: 5,
} as const;
export type TransformType = (typeof TransformType)[keyof typeof TransformType];

/** Transform attribute type for the key length in bits (RFC 7296 §3.3.5). */
export const KEY_LENGTH_ATTRIBUTE = 14;

/** Encryption algorithm transform IDs (type 1). */
export const EncrId = {
  DES3: 3,
  NULL: 11,
  AES_CBC: 12,
  AES_GCM_16: 20,
} as const;
export type EncrId = (typeof EncrId)[keyof typeof EncrId];

/** Pseudorandom function transform IDs (type 2). */
export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
} as const;
export type PrfId = (typeof PrfId)[keyof typeof PrfId];

/** Integrity algorithm transform IDs (type 3). */
export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;
export type IntegId = (typeof IntegId)[keyof typeof IntegId];

/** Diffie-Hellman group transform IDs (type 4) implemented in dh.ts. */
export const DhGroup = {
  NONE: 0,
  MODP_2048: 14,
  MODP_3072: 15,
  ECP_256: 19,
  ECP_384: 20,
  CURVE_25519: 31,
} as const;
export type DhGroup = (typeof DhGroup)[keyof typeof DhGroup];

/** Extended Sequence Numbers transform IDs (type 5). */
export const EsnId = {
  NO_ESN: 0,
  ESN: 1,
} as const;
export type EsnId = (typeof EsnId)[keyof typeof EsnId];

export interface EncrInfo {
  readonly id: EncrId;
  /** strongSwan's name stem, e.g. "AES_GCM_16" (the key size is appended). */
  readonly name: string;
  readonly aead: boolean;
  /** Key sizes in bits this implementation accepts; a fixed-size cipher has one entry. */
  readonly keyBits: readonly number[];
  /** Whether the transform carries a Key Length attribute (AES does, 3DES and NULL do not). */
  readonly keyLengthAttribute: boolean;
  /** Bytes of salt appended to the key material (RFC 4106 §8.1, RFC 5282 §7.1). */
  readonly saltLength: number;
  /** Bytes of IV sent in each packet. */
  readonly ivLength: number;
  /** The plaintext (with padding and pad length) is a multiple of this. */
  readonly blockSize: number;
  /** AEAD tag bytes; 0 for non-AEAD ciphers. */
  readonly icvLength: number;
}

const ENCR: Readonly<Record<EncrId, EncrInfo>> = {
  [EncrId.DES3]: {
    id: EncrId.DES3,
    name: '3DES',
    aead: false,
    keyBits: [192],
    keyLengthAttribute: false,
    saltLength: 0,
    ivLength: 8,
    blockSize: 8,
    icvLength: 0,
  },
  [EncrId.NULL]: {
    id: EncrId.NULL,
    name: 'NULL',
    aead: false,
    keyBits: [0],
    keyLengthAttribute: false,
    saltLength: 0,
    ivLength: 0,
    blockSize: 1,
    icvLength: 0,
  },
  [EncrId.AES_CBC]: {
    id: EncrId.AES_CBC,
    name: 'AES_CBC',
    aead: false,
    keyBits: [128, 192, 256],
    keyLengthAttribute: true,
    saltLength: 0,
    ivLength: 16,
    blockSize: 16,
    icvLength: 0,
  },
  [EncrId.AES_GCM_16]: {
    id: EncrId.AES_GCM_16,
    name: 'AES_GCM_16',
    aead: true,
    keyBits: [128, 192, 256],
    keyLengthAttribute: true,
    saltLength: 4,
    ivLength: 8,
    blockSize: 1,
    icvLength: 16,
  },
};

export function isEncrId(id: number): id is EncrId {
  return Object.prototype.hasOwnProperty.call(ENCR, id);
}

export function encrInfo(id: EncrId): EncrInfo {
  return ENCR[id];
}

export interface PrfInfo {
  readonly id: PrfId;
  readonly name: string;
  /** node:crypto hash name. */
  readonly hash: string;
  /** Output size in bytes; also the preferred key size for SK_d, SK_pi, SK_pr (RFC 7296 §2.13). */
  readonly outputLength: number;
}

const PRF: Readonly<Record<PrfId, PrfInfo>> = {
  [PrfId.HMAC_MD5]: { id: PrfId.HMAC_MD5, name: 'PRF_HMAC_MD5', hash: 'md5', outputLength: 16 },
  [PrfId.HMAC_SHA1]: { id: PrfId.HMAC_SHA1, name: 'PRF_HMAC_SHA1', hash: 'sha1', outputLength: 20 },
  [PrfId.HMAC_SHA2_256]: { id: PrfId.HMAC_SHA2_256, name: 'PRF_HMAC_SHA2_256', hash: 'sha256', outputLength: 32 },
  [PrfId.HMAC_SHA2_384]: { id: PrfId.HMAC_SHA2_384, name: 'PRF_HMAC_SHA2_384', hash: 'sha384', outputLength: 48 },
  [PrfId.HMAC_SHA2_512]: { id: PrfId.HMAC_SHA2_512, name: 'PRF_HMAC_SHA2_512', hash: 'sha512', outputLength: 64 },
};

export function isPrfId(id: number): id is PrfId {
  return Object.prototype.hasOwnProperty.call(PRF, id);
}

export function prfInfo(id: PrfId): PrfInfo {
  return PRF[id];
}

export interface IntegInfo {
  readonly id: IntegId;
  readonly name: string;
  /** node:crypto hash name; empty for NONE. */
  readonly hash: string;
  /** Key size in bytes (RFC 2403, RFC 2404, RFC 4868 §2.1.1). */
  readonly keyLength: number;
  /** Truncated ICV size in bytes. */
  readonly icvLength: number;
}

const INTEG: Readonly<Record<IntegId, IntegInfo>> = {
  [IntegId.NONE]: { id: IntegId.NONE, name: 'NONE', hash: '', keyLength: 0, icvLength: 0 },
  [IntegId.HMAC_MD5_96]: { id: IntegId.HMAC_MD5_96, name: 'HMAC_MD5_96', hash: 'md5', keyLength: 16, icvLength: 12 },
  [IntegId.HMAC_SHA1_96]: { id: IntegId.HMAC_SHA1_96, name: 'HMAC_SHA1_96', hash: 'sha1', keyLength: 20, icvLength: 12 },
  [IntegId.HMAC_SHA2_256_128]: {
    id: IntegId.HMAC_SHA2_256_128,
    name: 'HMAC_SHA2_256_128',
    hash: 'sha256',
    keyLength: 32,
    icvLength: 16,
  },
  [IntegId.HMAC_SHA2_384_192]: {
    id: IntegId.HMAC_SHA2_384_192,
    name: 'HMAC_SHA2_384_192',
    hash: 'sha384',
    keyLength: 48,
    icvLength: 24,
  },
  [IntegId.HMAC_SHA2_512_256]: {
    id: IntegId.HMAC_SHA2_512_256,
    name: 'HMAC_SHA2_512_256',
    hash: 'sha512',
    keyLength: 64,
    icvLength: 32,
  },
};

export function isIntegId(id: number): id is IntegId {
  return Object.prototype.hasOwnProperty.call(INTEG, id);
}

export function integInfo(id: IntegId): IntegInfo {
  return INTEG[id];
}

/** strongSwan / IANA names of the DH groups, e.g. "CURVE_25519". */
export const DH_GROUP_NAMES: Readonly<Record<DhGroup, string>> = {
  [DhGroup.NONE]: 'NONE',
  [DhGroup.MODP_2048]: 'MODP_2048',
  [DhGroup.MODP_3072]: 'MODP_3072',
  [DhGroup.ECP_256]: 'ECP_256',
  [DhGroup.ECP_384]: 'ECP_384',
  [DhGroup.CURVE_25519]: 'CURVE_25519',
};

export function isDhGroup(id: number): id is DhGroup {
  return Object.prototype.hasOwnProperty.call(DH_GROUP_NAMES, id);
}

/**
 * The cipher part of a negotiated suite: what the SK payload and ESP need.
 * `keyBits` is the cipher key size without salt (0 for NULL, 192 for 3DES).
 */
export interface CipherSuite {
  readonly encr: EncrId;
  readonly keyBits: number;
  /** IntegId.NONE with AEAD ciphers. */
  readonly integ: IntegId;
}

/** Bytes of encryption key material for the suite: cipher key plus salt (RFC 5282 §7.1, RFC 4106 §8.1). */
export function encrKeyLength(suite: Pick<CipherSuite, 'encr' | 'keyBits'>): number {
  return suite.keyBits / 8 + ENCR[suite.encr].saltLength;
}

/** Bytes of integrity key material for the suite (0 for AEAD / NONE). */
export function integKeyLength(suite: Pick<CipherSuite, 'integ'>): number {
  return INTEG[suite.integ].keyLength;
}

/** node:crypto cipher name for the suite's encryption algorithm (undefined for NULL). */
export function nodeCipherName(suite: Pick<CipherSuite, 'encr' | 'keyBits'>): string | undefined {
  switch (suite.encr) {
    case EncrId.AES_CBC:
      return `aes-${suite.keyBits}-cbc`;
    case EncrId.AES_GCM_16:
      return `aes-${suite.keyBits}-gcm`;
    case EncrId.DES3:
      return 'des-ede3-cbc';
    case EncrId.NULL:
      return undefined;
  }
}

/** Checks the suite is coherent (known key size; AEAD without integrity; non-AEAD with one unless NULL-encryption is explicitly allowed). */
export function suiteProblem(suite: CipherSuite): string | undefined {
  if (!isEncrId(suite.encr)) return `unknown encryption algorithm ${String(suite.encr)}`;
  if (!isIntegId(suite.integ)) return `unknown integrity algorithm ${String(suite.integ)}`;
  const e = ENCR[suite.encr];
  if (!e.keyBits.includes(suite.keyBits)) return `${e.name} does not take a ${suite.keyBits}-bit key`;
  if (e.aead && suite.integ !== IntegId.NONE) return `${e.name} is AEAD and takes no integrity algorithm`;
  if (!e.aead && suite.integ === IntegId.NONE) return `${e.name} needs an integrity algorithm`;
  return undefined;
}
