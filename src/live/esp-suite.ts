/**
 * The cipher suite of a CHILD_SA from the engine's strongSwan-style name
 * ("ESP:AES_GCM_16_128/NO_EXT_SEQ", "ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/EXT_SEQ"):
 * the inverse of crypto/proposals espSuiteName, built from the same name tables.
 */
import { EncrId, IntegId, encrInfo, integInfo, type CipherSuite } from '../crypto/algorithms.ts';
import { encrName } from '../crypto/proposals.ts';

const ENCRS = [EncrId.AES_GCM_16, EncrId.AES_CBC, EncrId.DES3, EncrId.NULL] as const;
const INTEGS = [
  IntegId.HMAC_MD5_96,
  IntegId.HMAC_SHA1_96,
  IntegId.HMAC_SHA2_256_128,
  IntegId.HMAC_SHA2_384_192,
  IntegId.HMAC_SHA2_512_256,
] as const;

/** The suite named, or undefined when the name holds no known encryption algorithm. */
export function cipherSuiteFromName(name: string): CipherSuite | undefined {
  const parts = name.replace(/^ESP:/, '').split('/');
  let encr: { encr: EncrId; keyBits: number } | undefined;
  for (const e of ENCRS) {
    for (const keyBits of encrInfo(e).keyBits) if (parts[0] === encrName({ encr: e, keyBits })) encr = { encr: e, keyBits };
  }
  if (!encr) return undefined;
  const integ = INTEGS.find((i) => parts.includes(integInfo(i).name)) ?? IntegId.NONE;
  return { encr: encr.encr, keyBits: encr.keyBits, integ };
}
