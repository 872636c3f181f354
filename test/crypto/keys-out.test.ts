import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.ts';
import {
  DhGroup,
  EncrId,
  IntegId,
  PrfId,
  UatParseError,
  charonChildKeyLog,
  charonHexDump,
  charonIkeKeyLog,
  encrKeyLength,
  espEncrFromWiresharkLabel,
  espSaRow,
  espSaRowFor,
  espSaTable,
  ikev2DecryptionRow,
  ikev2DecryptionTable,
  ikev2EncrFromWiresharkLabel,
  ikev2RowFor,
  integKeyLength,
  parseEspSaTable,
  parseIkev2DecryptionTable,
  wiresharkEspAuthLabel,
  wiresharkEspEncrLabel,
  wiresharkIkev2EncrLabel,
  wiresharkIkev2IntegLabel,
  type CipherSuite,
  type EspSuite,
  type IkeSuite,
} from '../../src/crypto/index.ts';

const LAB = '/work/shared/captures/strongswan-lab';
const LABS = ['a-nat-keepalive', 'b-nonat', 'debian-5.9.8-nat'];

interface KeysJson {
  ikev2: Array<{ spi_i: string; spi_r: string; SK_ei: string; SK_er: string; SK_ai: string; SK_ar: string; SK_d: string; SK_pi: string; SK_pr: string }>;
  esp: Array<{ spi: string; enc_key: string; auth_key: string }>;
}
const gcmIke: IkeSuite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE, prf: PrfId.HMAC_SHA2_256, dh: DhGroup.CURVE_25519 };
const gcmEsp: EspSuite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE, dh: DhGroup.NONE, esn: false };

describe('Wireshark 4.0 UAT rows', () => {
  it('the examples of the spec, byte for byte', () => {
    const k = JSON.parse(readFileSync(`${LAB}/a-nat-keepalive/keys.json`, 'utf8')) as KeysJson;
    const ike = k.ikev2[0]!;
    expect(
      ikev2DecryptionRow({
        spiI: fromHex(ike.spi_i),
        spiR: fromHex(ike.spi_r),
        skEi: fromHex(ike.SK_ei),
        skEr: fromHex(ike.SK_er),
        encrLabel: 'AES-GCM-128 with 16 octet ICV [RFC5282]',
        skAi: new Uint8Array(0),
        skAr: new Uint8Array(0),
        integLabel: 'NONE [RFC4306]',
      }),
    ).toBe(
      '8391f754f1670e3d,5bc1c325f6ce53e8,a9bf03bec1d48dccb5732c35470242e093d951ba,29dc6e491a3f26afb3381b7c74023174b478198d,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"',
    );
    expect(
      espSaRow({
        family: 'IPv4',
        src: '*',
        dst: '*',
        spi: 0x33edbb96,
        encrLabel: 'AES-GCM with 16 octet ICV [RFC4106]',
        key: fromHex(k.esp[0]!.enc_key),
        authLabel: 'NULL',
        authKey: new Uint8Array(0),
      }),
    ).toBe('"IPv4","*","*","0x33edbb96","AES-GCM with 16 octet ICV [RFC4106]","0x252082c9931962574fa329e16d6f21c78b44c269","NULL",""');
  });

  for (const lab of LABS) {
    it(`${lab}: the tables built from keys.json equal the lab's wireshark/ files exactly`, () => {
      const k = JSON.parse(readFileSync(`${LAB}/${lab}/keys.json`, 'utf8')) as KeysJson;
      const ikeRows = k.ikev2.map((e) =>
        ikev2RowFor(fromHex(e.spi_i), fromHex(e.spi_r), gcmIke, {
          skD: fromHex(e.SK_d),
          skAi: fromHex(e.SK_ai),
          skAr: fromHex(e.SK_ar),
          skEi: fromHex(e.SK_ei),
          skEr: fromHex(e.SK_er),
          skPi: fromHex(e.SK_pi),
          skPr: fromHex(e.SK_pr),
        }),
      );
      expect(ikev2DecryptionTable(ikeRows)).toBe(readFileSync(`${LAB}/${lab}/wireshark/ikev2_decryption_table`, 'utf8'));
      const espRows = k.esp.map((e) => espSaRowFor(parseInt(e.spi, 16), gcmEsp, fromHex(e.enc_key), fromHex(e.auth_key)));
      expect(espSaTable(espRows)).toBe(readFileSync(`${LAB}/${lab}/wireshark/esp_sa`, 'utf8'));
    });
  }

  it('quotes and escapes string fields as Wireshark does (\\xNN)', () => {
    const row = espSaRow({ family: 'IPv6', src: '2001:db8::1', dst: 'a"b\\c', spi: 1, encrLabel: 'NULL', key: new Uint8Array(0), authLabel: 'NULL', authKey: new Uint8Array(0) });
    expect(row).toBe('"IPv6","2001:db8::1","a\\x22b\\x5cc","0x00000001","NULL","","NULL",""');
    expect(parseEspSaTable(row)[0]!.dst).toBe('a"b\\c');
  });
});

describe('UAT parsers', () => {
  it('parse the Openswan and lab files into typed rows with resolved algorithms', () => {
    const ike = parseIkev2DecryptionTable(readFileSync('/work/shared/captures/keys/tcpdump-ikev2pI2.ikev2_decryption_table', 'utf8'));
    expect(ike).toHaveLength(1);
    expect(ike[0]!.line).toBe(1);
    expect(toHex(ike[0]!.spiI)).toBe('0001020304050607');
    expect(toHex(ike[0]!.skAi)).toBe('4ea8e662b07cdd430f6944c6723e4b82d5722418');
    expect(ike[0]!.encr).toEqual({ encr: EncrId.AES_CBC, keyBits: 128 });
    const lab = parseIkev2DecryptionTable(readFileSync(`${LAB}/a-nat-keepalive/wireshark/ikev2_decryption_table`, 'utf8'));
    expect(lab[0]!.line).toBe(2); // after the comment line
    expect(lab[0]!.skAi.length).toBe(0);
    expect(lab[0]!.integ).toBe(IntegId.NONE);
    const esp = parseEspSaTable(readFileSync(`${LAB}/a-nat-keepalive/wireshark/esp_sa`, 'utf8'));
    expect(esp.map((r) => r.spi)).toEqual([0x33edbb96, 0xd80bade7]);
    expect(esp[0]!.encr).toBe(EncrId.AES_GCM_16);
    expect(esp[0]!.authKey.length).toBe(0);
    expect(esp[0]!.key.length).toBe(20);
  });

  it('keep a label this code does not implement, without resolving it', () => {
    const rows = parseEspSaTable('"IPv4","*","*","0x1","AES-CTR [RFC3686]","0x00","ANY 96 bit authentication [no checking]",""\n');
    expect(rows[0]!.encrLabel).toBe('AES-CTR [RFC3686]');
    expect(rows[0]!.encr).toBeUndefined();
    expect(rows[0]!.integ).toBeUndefined();
  });

  it('errors name the line number and the field', () => {
    const err = (f: () => unknown, line: number, field: string, message?: RegExp) => {
      expect(f).toThrow(UatParseError);
      expect(f).toThrow(expect.objectContaining({ line, field, ...(message ? { message: expect.stringMatching(message) } : {}) }));
    };
    const good = '8391f754f1670e3d,5bc1c325f6ce53e8,00,00,"NULL [RFC2410]",,,"NONE [RFC4306]"';
    err(() => parseIkev2DecryptionTable(`# c\n\n${good}\n8391f754f1670e3d,5bc1c325f6ce53,00,00,"x",,,"y"`), 4, 'SPIr');
    err(() => parseIkev2DecryptionTable('8391f754f1670e3d,5bc1c325f6ce53e8,0g,00,"x",,,"y"'), 1, 'SK_ei');
    err(() => parseIkev2DecryptionTable('8391f754f1670e3d,5bc1c325f6ce53e8,00,00,x,,,"y"'), 1, 'encryption');
    err(() => parseIkev2DecryptionTable('8391f754f1670e3d,5bc1c325f6ce53e8,00,00,"x",,'), 1, 'integrity', /expected 8 fields, found 7/);
    err(() => parseEspSaTable('"IPv4","*","*","0x1","NULL","","NULL",""\n"IPv5","*","*","0x1","NULL","","NULL",""'), 2, 'protocol');
    err(() => parseEspSaTable('"IPv4","*","*","12345678","NULL","","NULL",""'), 1, 'SPI');
    err(() => parseEspSaTable('"IPv4","*","*","0x1","NULL","00","NULL",""'), 1, 'encryption key');
    err(() => parseEspSaTable('"IPv4","*","*","0x1","NULL","","NULL","0x0'), 1, 'authentication key', /unterminated/);
  });
});

describe('charon-style key log', () => {
  it('dumps like charon %B: 16 upper-case bytes a line, offset, ASCII column', () => {
    // The lab README's example dump of Sk_ei (20 bytes).
    const lines = charonHexDump('Sk_ei secret', fromHex('8DEC342B16F65DADFAB060D552B57C5A7A3E51A7'));
    expect(lines).toEqual([
      'Sk_ei secret => 20 bytes @ 0x0',
      '   0: 8D EC 34 2B 16 F6 5D AD FA B0 60 D5 52 B5 7C 5A  ..4+..]...`.R.|Z',
      '  16: 7A 3E 51 A7                                      z>Q.',
    ]);
  });

  it('writes the IKE and CHILD_SA dumps in charon order', () => {
    const k = JSON.parse(readFileSync(`${LAB}/a-nat-keepalive/keys.json`, 'utf8')) as KeysJson;
    const e = k.ikev2[0]!;
    const text = charonIkeKeyLog(
      {
        conn: 'lab',
        unique: 1,
        spiI: fromHex(e.spi_i),
        spiR: fromHex(e.spi_r),
        suite: gcmIke,
        keys: { skD: fromHex(e.SK_d), skAi: new Uint8Array(0), skAr: new Uint8Array(0), skEi: fromHex(e.SK_ei), skEr: fromHex(e.SK_er), skPi: fromHex(e.SK_pi), skPr: fromHex(e.SK_pr) },
      },
      { linePrefix: '2026-11-25T03:00:14.473 ', thread: '11' },
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('2026-11-25T03:00:14.473 11[CFG] <lab|1> selected proposal: IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(lines.filter((l) => / secret => /.test(l)).map((l) => /\] <lab\|1> (\S+) secret/.exec(l)![1])).toEqual(['Sk_d', 'Sk_ei', 'Sk_er', 'Sk_pi', 'Sk_pr']);
    expect(lines.at(-1)).toBe('2026-11-25T03:00:14.473 11[MGR] <lab|1> checkin IKEv2 SA lab[1] with SPIs 8391f754f1670e3d_i 5bc1c325f6ce53e8_r');
    expect(text).toContain('11[IKE] <lab|1>    0: A9 BF 03 BE C1 D4 8D CC B5 73 2C 35 47 02 42 E0  ');

    const child = charonChildKeyLog({
      conn: 'lab',
      unique: 1,
      child: 'net',
      childUnique: 1,
      suite: { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128, dh: DhGroup.NONE, esn: false },
      keys: { encrI: new Uint8Array(16).fill(1), integI: new Uint8Array(32).fill(2), encrR: new Uint8Array(16).fill(3), integR: new Uint8Array(32).fill(4) },
      spiIn: 0xd80bade7,
      spiOut: 0x33edbb96,
      tsLocal: '10.77.10.0/24',
      tsRemote: '10.77.20.0/24',
    });
    const cl = child.trimEnd().split('\n');
    expect(cl[0]).toBe('00[CFG] <lab|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ');
    expect(cl.filter((l) => / key => /.test(l)).map((l) => /> (.+ key) =>/.exec(l)![1])).toEqual([
      'encryption initiator key',
      'encryption responder key',
      'integrity initiator key',
      'integrity responder key',
    ]);
    expect(cl.at(-1)).toBe('00[IKE] <lab|1> CHILD_SA net{1} established with SPIs d80bade7_i 33edbb96_o and TS 10.77.10.0/24 === 10.77.20.0/24');
  });
});

// ---- tshark acceptance ----

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

const IKE_SUITES: CipherSuite[] = [
  { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
  { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
  ...[128, 256].flatMap((keyBits) =>
    [IntegId.HMAC_SHA1_96, IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192, IntegId.HMAC_SHA2_512_256, IntegId.HMAC_MD5_96].map(
      (integ) => ({ encr: EncrId.AES_CBC, keyBits, integ }) as CipherSuite,
    ),
  ),
  { encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_SHA1_96 },
  { encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA2_256_128 },
];
const ESP_SUITES: CipherSuite[] = [
  { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
  { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
  ...[IntegId.HMAC_SHA1_96, IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192, IntegId.HMAC_SHA2_512_256, IntegId.HMAC_MD5_96].flatMap((integ) => [
    { encr: EncrId.AES_CBC, keyBits: 128, integ } as CipherSuite,
    { encr: EncrId.AES_CBC, keyBits: 256, integ } as CipherSuite,
    { encr: EncrId.NULL, keyBits: 0, integ } as CipherSuite,
    { encr: EncrId.DES3, keyBits: 192, integ } as CipherSuite,
  ]),
];

function ikeRowFor(s: CipherSuite, n: number): string {
  const e = new Uint8Array(encrKeyLength(s)).fill(0x11);
  const a = new Uint8Array(integKeyLength(s)).fill(0x22);
  const spi = fromHex(n.toString(16).padStart(16, '0'));
  return ikev2DecryptionRow({ spiI: spi, spiR: spi, skEi: e, skEr: e, encrLabel: wiresharkIkev2EncrLabel(s), skAi: a, skAr: a, integLabel: wiresharkIkev2IntegLabel(s.integ) });
}

function espRowFor(s: CipherSuite, n: number): string {
  return espSaRow({
    family: 'IPv4',
    src: '*',
    dst: '*',
    spi: n,
    encrLabel: wiresharkEspEncrLabel(s.encr),
    key: new Uint8Array(encrKeyLength(s)).fill(0x33),
    authLabel: wiresharkEspAuthLabel(s.integ),
    authKey: new Uint8Array(integKeyLength(s)).fill(0x44),
  });
}

function tshark(args: string[]) {
  return spawnSync('tshark', ['-r', `${LAB}/a-nat-keepalive/outside.pcap`, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('tshark 4.0 accepts every label emitted', () => {
  it.skipIf(!hasTshark)('all ikev2_decryption_table and esp_sa rows load (and a bogus label does not)', () => {
    const opts = [
      ...IKE_SUITES.flatMap((s, i) => ['-o', `uat:ikev2_decryption_table:${ikeRowFor(s, i + 1)}`]),
      ...ESP_SUITES.flatMap((s, i) => ['-o', `uat:esp_sa:${espRowFor(s, i + 1)}`]),
    ];
    const ok = tshark([...opts, '-c', '1']);
    expect(ok.stderr.replace(/Running as user "root".*\n?/, '')).toBe('');
    expect(ok.status).toBe(0);
    const bogus = tshark(['-o', 'uat:esp_sa:"IPv4","*","*","0x1","AES-GCM [bogus]","0x00","NULL",""', '-c', '1']);
    expect(bogus.status).not.toBe(0);
    expect(bogus.stderr).toMatch(/Invalid -o flag/);
  });

  it.skipIf(!hasTshark)('labels round-trip through the parsers', () => {
    for (const s of IKE_SUITES) expect(ikev2EncrFromWiresharkLabel(wiresharkIkev2EncrLabel(s))).toEqual({ encr: s.encr, keyBits: s.keyBits });
    for (const s of ESP_SUITES) expect(espEncrFromWiresharkLabel(wiresharkEspEncrLabel(s.encr))).toBe(s.encr);
  });

  it.skipIf(!hasTshark)('with the rows built here tshark decrypts the strongSwan capture: IKE_AUTH payloads and 20 ICMP packets', () => {
    const k = JSON.parse(readFileSync(`${LAB}/a-nat-keepalive/keys.json`, 'utf8')) as KeysJson;
    const e = k.ikev2[0]!;
    const ikeRow = ikev2DecryptionRow({
      spiI: fromHex(e.spi_i),
      spiR: fromHex(e.spi_r),
      skEi: fromHex(e.SK_ei),
      skEr: fromHex(e.SK_er),
      encrLabel: wiresharkIkev2EncrLabel(gcmIke),
      skAi: new Uint8Array(0),
      skAr: new Uint8Array(0),
      integLabel: wiresharkIkev2IntegLabel(IntegId.NONE),
    });
    const opts = ['-o', 'esp.enable_encryption_decode:TRUE', '-o', `uat:ikev2_decryption_table:${ikeRow}`];
    for (const x of k.esp) opts.push('-o', `uat:esp_sa:${espSaRow(espSaRowFor(parseInt(x.spi, 16), gcmEsp, fromHex(x.enc_key), new Uint8Array(0)))}`);
    const icmp = tshark([...opts, '-Y', 'icmp', '-T', 'fields', '-e', 'icmp.type']);
    expect(icmp.status).toBe(0);
    expect(icmp.stdout.trim().split('\n').sort()).toEqual([...Array(10).fill('0'), ...Array(10).fill('8')].sort());
    const ids = tshark([...opts, '-Y', 'isakmp.exchangetype == 35', '-T', 'fields', '-e', 'isakmp.id.data.fqdn']);
    expect(ids.status).toBe(0);
    expect(ids.stdout.trim().split('\n')).toEqual(['ini.lab,rsp.lab', 'rsp.lab']);
  });
});
