/**
 * Real non-AEAD data from Openswan's test suites (keys in
 * /work/shared/captures/openswan/libpluto/ike-secrets.txt and
 * /work/shared/captures/keys/*):
 *  - libpluto parentI2.pcap frame 2: IKE_AUTH request, AES-CBC-128 + HMAC-SHA1-96
 *    SK payload with the initiator keys; parentR2.pcap frame 2: the response with
 *    the responder keys (DLT_NULL captures);
 *  - klips-inputs 08-sunrise-sunset-udpesp-ping.pcap: ESP-in-UDP, SPI 0x12345678,
 *    3DES-CBC + HMAC-MD5-96 (west-natt-01), ICMP echo 192.0.2.1 -> 192.0.1.1.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  encryptSk,
  espOpen,
  espSeal,
  espStripTrailer,
  openSkMessage,
  parseEspSaTable,
  parseIkev2DecryptionTable,
  splitSkMessage,
} from '../../src/crypto/index.ts';
import { ikeFrame, udpDatagrams } from '../helpers/capture-udp.ts';
import { findPayload, payloadChain } from '../helpers/ike-chain.ts';

const LIB = '/work/shared/captures/openswan/libpluto';
const ikeRow = parseIkev2DecryptionTable(readFileSync('/work/shared/captures/keys/tcpdump-ikev2pI2.ikev2_decryption_table', 'utf8'))[0]!;
const espRow = parseEspSaTable(readFileSync('/work/shared/captures/keys/openswan-west-natt-01.esp_sa', 'utf8'))[0]!;

describe('Openswan IKE_AUTH, AES-CBC-128 + HMAC-SHA1-96 SK payload', () => {
  const suite = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 } as const;

  it('the UAT row resolves to that suite', () => {
    expect(ikeRow.encr).toEqual({ encr: EncrId.AES_CBC, keyBits: 128 });
    expect(ikeRow.integ).toBe(IntegId.HMAC_SHA1_96);
    expect(toHex(ikeRow.spiR)).toBe('c02e7a3031a03188');
  });

  for (const [file, dir, keyE, keyA, firstInner] of [
    [`${LIB}/lib-parentR2/parentI2.pcap`, 'request', ikeRow.skEi, ikeRow.skAi, 35],
    [`${LIB}/lib-parentI3/parentR2.pcap`, 'response', ikeRow.skEr, ikeRow.skAr, 36],
  ] as const) {
    it(`the ${dir} verifies, decrypts and re-encrypts byte-exact`, () => {
      const message = ikeFrame(file, 2);
      const r = openSkMessage({ suite, keyE, keyA, message, skOffset: 28 });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.firstInnerPayload).toBe(firstInner);
      const chain = payloadChain(r.plaintext, firstInner);
      expect(findPayload(chain, 39).body[0]).toBeGreaterThan(0); // an AUTH payload
      expect(r.iv.length).toBe(16);
      const parts = splitSkMessage(message, 28);
      const body = encryptSk({ suite, keyE, keyA, iv: r.iv, headerAndSkHeader: parts.headerAndSkHeader, plaintext: r.plaintext, padding: r.padding });
      expect(toHex(body)).toBe(toHex(parts.body));
      // The other direction's keys fail the ICV.
      const other = dir === 'request' ? [ikeRow.skEr, ikeRow.skAr] : [ikeRow.skEi, ikeRow.skAi];
      const bad = openSkMessage({ suite, keyE: other[0]!, keyA: other[1]!, message, skOffset: 28 });
      expect(!bad.ok && bad.reason).toBe('icv-mismatch');
    });
  }
});

describe('Openswan ESP-in-UDP, 3DES-CBC + HMAC-MD5-96', () => {
  const suite = { encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_MD5_96 } as const;
  const frames = udpDatagrams('/work/shared/captures/openswan/klips-inputs/08-sunrise-sunset-udpesp-ping.pcap');

  it('the esp_sa row resolves to that suite', () => {
    expect(espRow.encr).toBe(EncrId.DES3);
    expect(espRow.integ).toBe(IntegId.HMAC_MD5_96);
    expect(espRow.spi).toBe(0x12345678);
  });

  it('every packet decrypts to an ICMP echo 192.0.2.1 -> 192.0.1.1 and re-encrypts byte-exact', () => {
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const r = espOpen({ suite, keyE: espRow.key, keyA: espRow.authKey, packet: f.payload });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.spi).toBe(0x12345678);
      expect(r.seq).toBe(f.frame);
      const t = espStripTrailer(r.plaintext);
      expect(t.ok && t.nextHeader).toBe(4);
      if (!t.ok) return;
      expect(toHex(t.payload.subarray(12, 20))).toBe('c0000201c0000101');
      expect(t.payload[20]).toBe(8);
      expect(toHex(espSeal({ suite, keyE: espRow.key, keyA: espRow.authKey, spi: r.spi, seq: r.seq, iv: r.iv, plaintext: r.plaintext }))).toBe(
        toHex(f.payload),
      );
    }
  });

  it('a wrong integrity key or a truncated packet is refused with a reason', () => {
    const p = frames[0]!.payload;
    const wrongKey = espOpen({ suite, keyE: espRow.key, keyA: fromHex('00'.repeat(16)), packet: p });
    expect(!wrongKey.ok && wrongKey.reason).toBe('icv-mismatch');
    const short = espOpen({ suite, keyE: espRow.key, keyA: espRow.authKey, packet: p.subarray(0, p.length - 3) });
    expect(!short.ok && short.reason).toBe('bad-length');
  });
});
