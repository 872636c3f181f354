/**
 * Key material for decrypting a capture, built from Wireshark UAT rows
 * (ikev2_decryption_table, esp_sa) as parsed by crypto/keys-out.ts. Key sizes are
 * checked against each algorithm here, so a bad row is reported once, with its line
 * and field, instead of failing deep inside a decryption.
 */
import { formatIp, toHex, type IpAddress } from '../core/index.ts';
import {
  EncrId,
  IntegId,
  encrInfo,
  encrKeyLength,
  integKeyLength,
  suiteProblem,
  type CipherSuite,
  type ParsedEspSaRow,
  type ParsedIkev2Row,
} from '../crypto/index.ts';

/** A row whose key material does not fit its algorithm. */
export class KeyMaterialError extends Error {
  override readonly name = 'KeyMaterialError';
  constructor(
    readonly line: number,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`line ${line}, field ${field}: ${reason}`);
  }
}

export interface IkeKeys {
  readonly line: number;
  readonly suite: CipherSuite;
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skAi?: Uint8Array;
  readonly skAr?: Uint8Array;
}

export interface EspKeys {
  readonly line: number;
  readonly spi: number;
  /** Address text or "*". */
  readonly src: string;
  readonly dst: string;
  readonly suite: CipherSuite;
  readonly keyE: Uint8Array;
  readonly keyA?: Uint8Array;
}

export interface UnusableRow {
  readonly table: 'ikev2_decryption_table' | 'esp_sa';
  readonly line: number;
  readonly reason: string;
}

function ikeSuite(r: ParsedIkev2Row): CipherSuite | string {
  if (!r.encr) return `encryption "${r.encrLabel}" is not implemented`;
  if (r.integ === undefined) return `integrity "${r.integLabel}" is not implemented`;
  return { encr: r.encr.encr, keyBits: r.encr.keyBits, integ: r.integ };
}

function espSuite(r: ParsedEspSaRow): CipherSuite | string {
  if (r.encr === undefined) return `encryption "${r.encrLabel}" is not implemented`;
  if (r.integ === undefined) return `authentication "${r.authLabel}" is not implemented`;
  const info = encrInfo(r.encr);
  // esp_sa labels carry no key size: it follows from the key (which holds the salt for AES-GCM).
  const keyBits = r.encr === EncrId.DES3 ? 192 : r.encr === EncrId.NULL ? 0 : (r.key.length - info.saltLength) * 8;
  return { encr: r.encr, keyBits, integ: r.integ };
}

function checkLength(line: number, field: string, key: Uint8Array, want: number, what: string): void {
  if (key.length !== want) throw new KeyMaterialError(line, field, `${what} needs ${want} bytes, got ${key.length}`);
}

/** Decryption keys by IKE SPIs and by ESP SPI. */
export class KeyRing {
  private readonly ike = new Map<string, IkeKeys>();
  private readonly esp = new Map<number, EspKeys[]>();
  readonly unusable: UnusableRow[] = [];

  /** Throws KeyMaterialError for a row whose keys do not fit its (implemented) algorithm. */
  constructor(ikeRows: readonly ParsedIkev2Row[] = [], espRows: readonly ParsedEspSaRow[] = []) {
    for (const r of ikeRows) {
      const suite = ikeSuite(r);
      if (typeof suite === 'string') {
        this.unusable.push({ table: 'ikev2_decryption_table', line: r.line, reason: suite });
        continue;
      }
      const problem = suiteProblem(suite);
      if (problem) throw new KeyMaterialError(r.line, 'encryption', problem);
      const info = encrInfo(suite.encr);
      const eLen = suite.keyBits / 8 + info.saltLength;
      const what = `${r.encrLabel}${info.saltLength ? ` (key and ${info.saltLength}-byte salt)` : ''}`;
      checkLength(r.line, 'SK_ei', r.skEi, eLen, what);
      checkLength(r.line, 'SK_er', r.skEr, eLen, what);
      const aLen = integKeyLength(suite);
      checkLength(r.line, 'SK_ai', r.skAi, aLen, r.integLabel);
      checkLength(r.line, 'SK_ar', r.skAr, aLen, r.integLabel);
      this.ike.set(`${toHex(r.spiI)}/${toHex(r.spiR)}`, {
        line: r.line,
        suite,
        skEi: r.skEi,
        skEr: r.skEr,
        ...(aLen ? { skAi: r.skAi, skAr: r.skAr } : {}),
      });
    }
    for (const r of espRows) {
      const suite = espSuite(r);
      if (typeof suite === 'string') {
        this.unusable.push({ table: 'esp_sa', line: r.line, reason: suite });
        continue;
      }
      const info = encrInfo(suite.encr);
      if (!info.keyBits.includes(suite.keyBits)) {
        const sizes = info.keyBits.map((b) => b / 8 + info.saltLength).join(' or ');
        throw new KeyMaterialError(r.line, 'encryption key', `${r.encrLabel} needs ${sizes} bytes, got ${r.key.length}`);
      }
      checkLength(r.line, 'encryption key', r.key, encrKeyLength(suite), r.encrLabel);
      const problem = suiteProblem(suite);
      if (problem) throw new KeyMaterialError(r.line, 'authentication', problem);
      const aLen = integKeyLength(suite);
      checkLength(r.line, 'authentication key', r.authKey, aLen, r.authLabel);
      const list = this.esp.get(r.spi) ?? [];
      list.push({
        line: r.line,
        spi: r.spi,
        src: r.src,
        dst: r.dst,
        suite,
        keyE: r.key,
        ...(suite.integ !== IntegId.NONE ? { keyA: r.authKey } : {}),
      });
      this.esp.set(r.spi, list);
    }
  }

  get ikeCount(): number {
    return this.ike.size;
  }

  get espCount(): number {
    let n = 0;
    for (const l of this.esp.values()) n += l.length;
    return n;
  }

  ikeKeys(spiI: Uint8Array, spiR: Uint8Array): IkeKeys | undefined {
    return this.ike.get(`${toHex(spiI)}/${toHex(spiR)}`);
  }

  /** The esp_sa row for this SPI whose source and destination ("*" or an address) fit. */
  espKeys(spi: number, src: IpAddress, dst: IpAddress): EspKeys | undefined {
    const list = this.esp.get(spi >>> 0);
    if (!list) return undefined;
    const s = formatIp(src);
    const d = formatIp(dst);
    return list.find((k) => (k.src === '*' || k.src === s) && (k.dst === '*' || k.dst === d));
  }

  hasEspSpi(spi: number): boolean {
    return this.esp.has(spi >>> 0);
  }
}
