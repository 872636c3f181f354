/**
 * Published ESP packets reproduced byte for byte through the processor:
 *  - RFC 3602 §4 (AES-CBC-128 in ESP), cases 5 and 6 (transport mode, next header 1)
 *    and 7 and 8 (tunnel mode, next header 4). These packets carry no ICV (RFC 3602
 *    shows encryption only), so the SAs are `confidentialityOnly`; a second test adds
 *    HMAC-SHA-1-96 and checks the packet is the vector followed by the ICV.
 *  - draft-mcgrew-gcm-test-01 §4 "Test Cases" (AES-GCM in ESP, RFC 4106): the
 *    128-bit-key packet with SPI 0x0000a5f8 and the 256-bit-key packet with SPI
 *    0x4a2cbfe3. Their plaintexts end in next header 1, so they go through the
 *    payload-level API; tunnel mode rejects them for exactly that reason.
 */
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { concatBytes, fromHex, parseIp, SeededRng, toHex } from '../../src/core/index.ts';
import { EncrId, IntegId, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { EspProcessor, ESP_DROP } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase, type ChildSaInput } from '../../src/ipsec/sad.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';

const AES128_CBC: CipherSuite = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.NONE };

interface Rfc3602Case {
  readonly name: string;
  readonly key: string;
  readonly spi: number;
  readonly seq: number;
  readonly iv: string;
  readonly nextHeader: number;
  /** Transport mode: the ICMP message; tunnel mode: the inner IPv4 packet. */
  readonly payload: string;
  /** SPI ‖ seq ‖ IV ‖ ciphertext. */
  readonly esp: string;
}

// RFC 3602 §4, "Test Vectors", cases 5-8. Source/destination: 192.168.123.3 →
// 192.168.123.100 (cases 5, 6) and → 192.168.123.200 (cases 7, 8).
const CASES: readonly Rfc3602Case[] = [
  {
    name: 'case 5: transport-mode ping 192.168.123.100',
    key: '90d382b4 10eeba7a d938c46c ec1a82bf',
    spi: 0x4321,
    seq: 1,
    iv: 'e96e8c08 ab465763 fd098d45 dd3ff893',
    nextHeader: 1,
    payload: `08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
              18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637`,
    esp: `00004321 00000001 e96e8c08 ab465763 fd098d45 dd3ff893
          f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856
          a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a
          a269add0 47ad2d59 13ac19b7 cfbad4a6`,
  },
  {
    name: 'case 6: transport-mode ping -p 77 -s 20 192.168.123.100',
    key: '90d382b4 10eeba7a d938c46c ec1a82bf',
    spi: 0x4321,
    seq: 8,
    iv: '69d08df7 d203329d b093fc49 24e5bd80',
    nextHeader: 1,
    payload: '0800b5e8 a80a0500 a69c083d 0b660e00 77777777 77777777 77777777',
    esp: `00004321 00000008 69d08df7 d203329d b093fc49 24e5bd80
          f5199588 1ec4e0c4 488987ce 742e8109 689bb379 d2d750c0 d915dca3 46a89f75`,
  },
  {
    name: 'case 7: tunnel-mode ping 192.168.123.200',
    key: '01234567 89abcdef 01234567 89abcdef',
    spi: 0x8765,
    seq: 2,
    iv: 'f4e76524 4f6407ad f13dc138 0f673f37',
    nextHeader: 4,
    payload: `45000054 09040000 4001f988 c0a87b03 c0a87bc8 08009f76 a90a0100 b49c083d
              02a20400 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f 20212223
              24252627 28292a2b 2c2d2e2f 30313233 34353637`,
    esp: `00008765 00000002 f4e76524 4f6407ad f13dc138 0f673f37
          773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8
          e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5
          c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d`,
  },
  {
    name: 'case 8: tunnel-mode ping -p ff -s 40 192.168.123.200',
    key: '01234567 89abcdef 01234567 89abcdef',
    spi: 0x8765,
    seq: 5,
    iv: '85d47224 b5f3dd5d 2101d4ea 8dffab22',
    nextHeader: 4,
    payload: `45000044 090c0000 4001f990 c0a87b03 c0a87bc8 0800d63c aa0a0200 c69c083d
              a3de0300 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff
              ffffffff`,
    esp: `00008765 00000005 85d47224 b5f3dd5d 2101d4ea 8dffab22
          15b92683 819596a8 047232cc 00f7048f e45318e1 1f8a0f62 ede3c3fc 61203bb5
          0f980a08 c9843fd3 a1b06d5c 07ff9639 b7eb7dfb 3512e5de 435e7207 ed971ef3
          d2726d9b 5ef6affc 6d17a0de cbb13892`,
  },
];

const HOST = parseIp('192.168.123.3');
const PEER100 = parseIp('192.168.123.100');
const PEER200 = parseIp('192.168.123.200');

function processorWith(input: ChildSaInput, direction: 'outbound' | 'inbound'): EspProcessor {
  const sad = new SecurityAssociationDatabase();
  if (direction === 'outbound') sad.addOutbound('v', input, 0);
  else sad.addInbound('v', input, 0);
  return new EspProcessor({ sad, rng: new SeededRng(1) });
}

function cbcInput(c: Rfc3602Case, suite: CipherSuite = AES128_CBC, integKey?: Uint8Array): ChildSaInput {
  return {
    spi: c.spi,
    suite,
    encKey: fromHex(c.key),
    ...(integKey ? { integKey } : {}),
    esn: false,
    replayWindow: 64,
    tunnel: { local: HOST, remote: c.nextHeader === 4 ? PEER200 : PEER100 },
    firstSequence: c.seq,
    confidentialityOnly: integKey === undefined,
  };
}

describe('RFC 3602 §4 ESP packets (AES-CBC-128, encryption only)', () => {
  for (const c of CASES) {
    it(`${c.name}: sealed byte for byte with the vector's IV, default padding and sequence number`, () => {
      const p = processorWith(cbcInput(c), 'outbound');
      const r = p.protectPayload('v', fromHex(c.payload), c.nextHeader, { iv: fromHex(c.iv) });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(toHex(r.esp)).toBe(toHex(fromHex(c.esp)));
      expect(r.sequence).toBe(BigInt(c.seq));
    });

    it(`${c.name}: opened back to the payload and next header`, () => {
      const p = processorWith(cbcInput(c), 'inbound');
      const r = p.unprotect(fromHex(c.esp));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(toHex(r.payload)).toBe(toHex(fromHex(c.payload)));
      expect(r.nextHeader).toBe(c.nextHeader);
      expect(r.sequence).toBe(BigInt(c.seq));
    });
  }

  it('case 7 in tunnel mode: the whole outer packet of the RFC, IP header 4500008c 09050000 4032f91e', () => {
    const c = CASES[2]!;
    const p = processorWith(cbcInput(c), 'outbound');
    const r = p.protect('v', fromHex(c.payload), { iv: fromHex(c.iv), identification: 0x0905 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packets).toHaveLength(1);
    expect(toHex(r.packets[0]!)).toBe(toHex(concatBytes(fromHex('4500008c 09050000 4032f91e c0a87b03 c0a87bc8'), fromHex(c.esp))));
    // ... and receiving that packet gives back the inner ping.
    const rx = processorWith(cbcInput(c), 'inbound').receive(r.packets[0]!);
    expect(rx.ok && toHex(rx.inner)).toBe(toHex(fromHex(c.payload)));
  });

  it('case 8 in tunnel mode: outer IPv4 header is protocol 50 between the tunnel endpoints, ESP as in the RFC', () => {
    const c = CASES[3]!;
    const r = processorWith(cbcInput(c), 'outbound').protect('v', fromHex(c.payload), { iv: fromHex(c.iv), identification: 0x090d });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const outer = Ipv4Codec.decode(r.packets[0]!);
    expect(outer.protocol).toBe(50);
    expect(outer.checksumValid).toBe(true);
    expect(outer.dontFragment).toBe(false);
    expect(outer.ttl).toBe(64);
    expect(toHex(outer.payload)).toBe(toHex(fromHex(c.esp)));
  });

  it('with HMAC-SHA-1-96 added, the packet is the vector followed by HMAC-SHA1(key, vector)[0..12] (RFC 2404, RFC 4303 §2.8)', () => {
    const integKey = fromHex('0102030405060708090a0b0c0d0e0f1011121314');
    for (const c of CASES) {
      const suite: CipherSuite = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 };
      const out = processorWith(cbcInput(c, suite, integKey), 'outbound').protectPayload('v', fromHex(c.payload), c.nextHeader, { iv: fromHex(c.iv) });
      expect(out.ok).toBe(true);
      if (!out.ok) return;
      const icv = createHmac('sha1', integKey).update(fromHex(c.esp)).digest().subarray(0, 12);
      expect(toHex(out.esp)).toBe(toHex(fromHex(c.esp)) + icv.toString('hex'));
      const back = processorWith(cbcInput(c, suite, integKey), 'inbound').unprotect(out.esp);
      expect(back.ok && toHex(back.payload)).toBe(toHex(fromHex(c.payload)));
    }
  });
});

interface GcmCase {
  readonly name: string;
  readonly suite: CipherSuite;
  /** Key ‖ 4-byte salt. */
  readonly keymat: string;
  readonly spi: number;
  readonly seq: number;
  readonly iv: string;
  /** Plaintext with trailer, as the draft prints it. */
  readonly plaintext: string;
  readonly packet: string;
}

// draft-mcgrew-gcm-test-01 §4: key, SPI, sequence number, nonce = salt ‖ IV, plaintext
// and the processed ESP packet.
const GCM_CASES: readonly GcmCase[] = [
  {
    name: 'AES-GCM-128, SPI 0x0000a5f8, seq 10 (a DNS query)',
    suite: { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
    keymat: 'feffe992 8665731c 6d6a8f94 67308308 cafebabe',
    spi: 0x0000a5f8,
    seq: 0x0a,
    iv: 'facedbad decaf888',
    plaintext: `4500003e 698f0000 80114dcc c0a80102 c0a80101 0a980035 002a2343 b2d00100
                00010000 00000000 03736970 09637962 65726369 74790264 6b000001 00010001`,
    packet: `0000a5f8 0000000a facedbad decaf888 deb22cd9 b07c72c1 6e3a65be eb8df304
             a5a5897d 33ae530f 1ba76d5d 114d2a5c 3de81827 c10e9a4f 51330d0e ec416642
             cfbb85a5 b47e48a4 ec3b9ba9 5d918bd1 83b70d3a a8bc6ee4 c309e9d8 5a41ad4a`,
  },
  {
    name: 'AES-GCM-256, SPI 0x4a2cbfe3, seq 2 (a TCP SYN)',
    suite: { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
    keymat: 'abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab 11223344',
    spi: 0x4a2cbfe3,
    seq: 2,
    iv: '01020304 05060708',
    plaintext: `45000030 69a64000 80062690 c0a80102 9389155e 0a9e008b 2dc57ee0 00000000
                70024000 20bf0000 020405b4 01010402 01020201`,
    packet: `4a2cbfe3 00000002 01020304 05060708 ff425c9b 724599df 7a3bcd51 0194e00d
             6a78107f 1b0b1cbf 06efae9d 65a5d763 748a6379 85771d34 7f054565 9f14e99d
             ef842d8e b335f4ee cfdbf831 824b4c49 15956c96`,
  },
];

describe('draft-mcgrew-gcm-test-01 §4 AES-GCM ESP packets (RFC 4106)', () => {
  for (const c of GCM_CASES) {
    const plain = fromHex(c.plaintext);
    const padLength = plain[plain.length - 2]!;
    const nextHeader = plain[plain.length - 1]!;
    const payload = plain.subarray(0, plain.length - 2 - padLength);
    const input: ChildSaInput = {
      spi: c.spi,
      suite: c.suite,
      encKey: fromHex(c.keymat),
      esn: false,
      replayWindow: 64,
      tunnel: { local: parseIp('192.168.1.2'), remote: parseIp('192.168.1.1') },
      firstSequence: c.seq,
    };

    it(`${c.name}: sealed byte for byte`, () => {
      // The draft pads to 4 bytes with 1, 2, 3, ...: the trailer our sealer builds.
      expect(payload.length).toBe((plain[2]! << 8) | plain[3]!);
      const r = processorWith(input, 'outbound').protectPayload('v', payload, nextHeader, { iv: fromHex(c.iv) });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(toHex(r.esp)).toBe(toHex(fromHex(c.packet)));
    });

    it(`${c.name}: opened, and rejected by tunnel mode for its next header ${nextHeader}`, () => {
      const p = processorWith(input, 'inbound');
      const r = p.unprotect(fromHex(c.packet));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(toHex(r.payload)).toBe(toHex(payload));
      expect(r.nextHeader).toBe(1);
      const p2 = processorWith(input, 'inbound');
      const t = p2.receiveEsp(fromHex(c.packet));
      expect(t.ok).toBe(false);
      if (t.ok) return;
      expect(t.reason).toBe(ESP_DROP.BAD_NEXT_HEADER);
      expect(p2.sad.inbound(c.spi)!.counters.badNextHeader).toBe(1);
    });
  }

  it('our own GCM IVs are the 64-bit sequence number, not random (RFC 4106 §3.1 counter)', () => {
    const c = GCM_CASES[0]!;
    const sad = new SecurityAssociationDatabase();
    sad.addOutbound('v', { spi: c.spi, suite: c.suite, encKey: fromHex(c.keymat), esn: false, replayWindow: 64, tunnel: { local: HOST, remote: PEER100 } }, 0);
    const p = new EspProcessor({ sad, rng: new SeededRng(3) });
    const ivs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = p.protectPayload('v', new Uint8Array(20), 4);
      if (r.ok) ivs.push(toHex(r.esp.subarray(8, 16)));
    }
    expect(ivs).toEqual(['0000000000000001', '0000000000000002', '0000000000000003']);
  });
});
