/** Key rows are checked against their algorithms before any decryption. */
import { describe, expect, it } from 'vitest';
import { KeyMaterialError, KeyRing } from '../../src/analysis/keys.ts';
import { parseEspSaTable, parseIkev2DecryptionTable } from '../../src/crypto/keys-out.ts';
import { ipv4 } from '../../src/core/addr.ts';

const GCM_ROW = '8391f754f1670e3d,5bc1c325f6ce53e8,a9bf03bec1d48dccb5732c35470242e093d951ba,29dc6e491a3f26afb3381b7c74023174b478198d,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"';

describe('KeyRing', () => {
  it('finds IKE keys by both SPIs and ESP keys by SPI, source and destination', () => {
    const k = new KeyRing(parseIkev2DecryptionTable(GCM_ROW), parseEspSaTable('"IPv4","192.1.2.23","*","0x12345678","TripleDES-CBC [RFC2451]","0x4043434545464649494a4a4c4c4f4f515152525454575758","HMAC-MD5-96 [RFC2403]","0x87658765876587658765876587658765"'));
    expect(k.ikeKeys(Buffer.from('8391f754f1670e3d', 'hex'), Buffer.from('5bc1c325f6ce53e8', 'hex'))?.suite).toEqual({ encr: 20, keyBits: 128, integ: 0 });
    expect(k.ikeKeys(Buffer.from('8391f754f1670e3d', 'hex'), new Uint8Array(8))).toBeUndefined();
    expect(k.espKeys(0x12345678, ipv4(192, 1, 2, 23), ipv4(1, 2, 3, 4))?.suite).toEqual({ encr: 3, keyBits: 192, integ: 1 });
    expect(k.espKeys(0x12345678, ipv4(192, 1, 2, 24), ipv4(1, 2, 3, 4))).toBeUndefined();
    expect([k.ikeCount, k.espCount]).toEqual([1, 1]);
  });
  it('a key of the wrong size names its line and field', () => {
    const short = `# comment\n${GCM_ROW.replace('a9bf03bec1d48dccb5732c35470242e093d951ba', 'a9bf03bec1d48dccb5732c35470242e0')}`;
    expect(() => new KeyRing(parseIkev2DecryptionTable(short))).toThrow(
      expect.objectContaining({ name: 'KeyMaterialError', line: 2, field: 'SK_ei', reason: 'AES-GCM-128 with 16 octet ICV [RFC5282] (key and 4-byte salt) needs 20 bytes, got 16' }),
    );
    const esp = '"IPv4","*","*","0x1","AES-CBC [RFC3602]","0x0011","HMAC-SHA-1-96 [RFC2404]","0x00"';
    expect(() => new KeyRing([], parseEspSaTable(esp))).toThrow(expect.objectContaining({ line: 1, field: 'encryption key' }));
    expect(() => new KeyRing([], parseEspSaTable(esp))).toThrow(KeyMaterialError);
  });
  it('an algorithm this code does not implement makes the row unusable, not an error', () => {
    const k = new KeyRing(parseIkev2DecryptionTable(GCM_ROW.replace('AES-GCM-128 with 16 octet ICV [RFC5282]', 'CAMELLIA-CBC-128 [RFC5529]')));
    expect(k.unusable).toEqual([{ table: 'ikev2_decryption_table', line: 1, reason: 'encryption "CAMELLIA-CBC-128 [RFC5529]" is not implemented' }]);
  });
});
