import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  IKE_PORT,
  KEEPALIVE,
  NATT_PORT,
  classifyUdpPayload,
  frameIke,
  needsNonEspMarker,
  type UdpPayloadClass,
} from '../../src/wire/udp-encap.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { UdpCodec } from '../../src/wire/udp.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { formatIp } from '../../src/core/addr.ts';
import { CAPTURES_DIR, readPcap } from '../helpers/pcap-frames.ts';

const OUTSIDE = 'strongswan-lab/a-nat-keepalive/outside.pcap';
const LAB_CAPTURES = ['a-nat-keepalive', 'b-nonat', 'debian-5.9.8-nat'].flatMap((s) => [
  { scenario: s, capture: 'inside' as const },
  { scenario: s, capture: 'outside' as const },
]);

interface Seen {
  number: number;
  src: string;
  dst: string;
  cls: UdpPayloadClass | { kind: 'esp-raw' };
}

/** Classifies every UDP payload (and notes raw ESP) in an Ethernet capture. */
function classifyCapture(path: string): Seen[] {
  const out: Seen[] = [];
  for (const f of readPcap(path).frames) {
    if (f.data[12] !== 0x08 || f.data[13] !== 0x00) continue;
    const ip = Ipv4Codec.decode(f.data.subarray(14), 14);
    if (ip.protocol === 50) {
      out.push({ number: f.number, src: `${formatIp(ip.src)}:-`, dst: `${formatIp(ip.dst)}:-`, cls: { kind: 'esp-raw' } });
    }
    if (ip.protocol !== 17) continue;
    const udp = UdpCodec.decode(ip.payload, 34);
    out.push({
      number: f.number,
      src: `${formatIp(ip.src)}:${udp.srcPort}`,
      dst: `${formatIp(ip.dst)}:${udp.dstPort}`,
      cls: classifyUdpPayload(udp.srcPort, udp.dstPort, udp.payload),
    });
  }
  return out;
}

const ike = (n: number) => concatBytes(fromHex('8391f754f1670e3d 0000000000000000 21202208 00000000'), new Uint8Array(n - 24));

describe('needsNonEspMarker / frameIke', () => {
  it('the marker is needed exactly when neither port is 500', () => {
    expect(needsNonEspMarker(500, 500)).toBe(false);
    expect(needsNonEspMarker(29396, 500)).toBe(false);
    expect(needsNonEspMarker(500, 4500)).toBe(false);
    expect(needsNonEspMarker(4500, 4500)).toBe(true);
    // A NAT mapped 4500 to 26329 (strongswan-lab outside.pcap): still NAT-T framing.
    expect(needsNonEspMarker(26329, 4500)).toBe(true);
    expect(needsNonEspMarker(1234, 5678)).toBe(true);
    expect([IKE_PORT, NATT_PORT]).toEqual([500, 4500]);
  });

  it('frameIke adds the 4 zero bytes only then', () => {
    const msg = ike(28);
    expect(frameIke(msg, 500, 500)).toBe(msg);
    expect(frameIke(msg, 29396, 500)).toBe(msg);
    const framed = frameIke(msg, 26329, 4500);
    expect(framed.length).toBe(32);
    expect(toHex(framed)).toBe('00000000' + toHex(msg));
  });

  it('framing then classifying gives the message back on any port pair (property)', () => {
    fc.assert(
      fc.property(fc.nat(0xffff), fc.nat(0xffff), fc.uint8Array({ minLength: 20, maxLength: 100 }), (sp, dp, tail) => {
        const msg = concatBytes(fromHex('0102030405060708'), tail); // SPIi is never zero
        const c = classifyUdpPayload(sp, dp, frameIke(msg, sp, dp));
        expect(c.kind).toBe(needsNonEspMarker(sp, dp) ? 'ike-nonesp' : 'ike');
        expect(toHex((c as { ike: Uint8Array }).ike)).toBe(toHex(msg));
      }),
    );
  });
});

describe('classifyUdpPayload on the strongswan-lab captures', () => {
  it('outside.pcap: IKE on 500, marker at IKE_AUTH on 4500, ESP-in-UDP, keepalives, as tshark lists them', () => {
    // Frame numbers from wireshark/outside-decrypted.txt.
    const seen = classifyCapture(OUTSIDE);
    const byKind = (k: string) => seen.filter((s) => s.cls.kind === k).map((s) => s.number);
    expect(byKind('ike')).toEqual([1, 2]);
    expect(byKind('ike-nonesp')).toEqual([3, 4, 34, 35]);
    expect(byKind('keepalive')).toEqual([27, 28, 29, 30, 33]);
    expect(byKind('esp')).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(seen.length).toBe(31);
    const auth = seen.find((s) => s.number === 3)!;
    expect([auth.src, auth.dst]).toEqual(['198.51.100.1:26329', '198.51.100.2:4500']);
    const c = auth.cls as Extract<UdpPayloadClass, { kind: 'ike-nonesp' }>;
    expect(c.offset).toBe(4);
    expect(toHex(c.ike.subarray(0, 16))).toBe('8391f754f1670e3d5bc1c325f6ce53e8');
    expect(c.ike[18]).toBe(35); // exchange type IKE_AUTH
    expect(c.ike.length).toBe(243);
    const esp = seen.find((s) => s.number === 5)!.cls as Extract<UdpPayloadClass, { kind: 'esp' }>;
    expect(esp.spi).toBe(0x33edbb96);
    const back = seen.find((s) => s.number === 6)!.cls as Extract<UdpPayloadClass, { kind: 'esp' }>;
    expect(back.spi).toBe(0xd80bade7);
  });

  it.each(LAB_CAPTURES)('$scenario/$capture: flows and markers agree with manifest.json', ({ scenario, capture }) => {
    const manifest = JSON.parse(readFileSync(`${CAPTURES_DIR}strongswan-lab/${scenario}/manifest.json`, 'utf8'));
    const truth = manifest.captures[capture];
    const seen = classifyCapture(`strongswan-lab/${scenario}/${capture}.pcap`);
    const name: Record<string, string> = { ike: 'ike', 'ike-nonesp': 'ike', esp: 'esp-in-udp', keepalive: 'keepalive', 'esp-raw': 'esp-raw' };
    const flows: Record<string, number> = {};
    for (const s of seen) {
      const key = `${name[s.cls.kind] ?? s.cls.kind} ${s.src} -> ${s.dst}`;
      flows[key] = (flows[key] ?? 0) + 1;
    }
    expect(flows).toEqual(truth.flows);
    const ikes = seen.filter((s) => s.cls.kind === 'ike' || s.cls.kind === 'ike-nonesp');
    expect(ikes.map((s) => [s.src, s.dst, s.cls.kind === 'ike-nonesp'])).toEqual(
      truth.ike_messages.map((m: { src: string; dst: string; non_esp_marker: boolean }) => [m.src, m.dst, m.non_esp_marker]),
    );
    expect(ikes.map((s) => (s.cls as { ike: Uint8Array }).ike.length)).toEqual(
      truth.ike_messages.map((m: { length: number }) => m.length),
    );
  });

  it('tcpdump espudp1.pcap and the Openswan KLIPS capture are ESP-in-UDP 4500 -> 4500', () => {
    for (const path of ['tcpdump/espudp1.pcap', 'openswan/klips-inputs/08-sunrise-sunset-udpesp-ping.pcap']) {
      const seen = classifyCapture(path);
      expect(seen.length).toBe(8);
      for (const s of seen) expect(s.cls.kind, `${path} frame ${s.number}`).toBe('esp');
    }
    const spis = classifyCapture('openswan/klips-inputs/08-sunrise-sunset-udpesp-ping.pcap').map((s) => (s.cls as { spi: number }).spi);
    expect(new Set(spis)).toEqual(new Set([0x12345678]));
  });
});

describe('classifyUdpPayload, case by case (RFC 3948 §2.2, §2.3)', () => {
  it('one 0xFF byte on the NAT-T pair is a keepalive, whatever the ports besides 500', () => {
    expect(classifyUdpPayload(4500, 4500, KEEPALIVE)).toEqual({ kind: 'keepalive' });
    expect(classifyUdpPayload(26329, 4500, Uint8Array.of(0xff))).toEqual({ kind: 'keepalive' });
    expect(classifyUdpPayload(1111, 2222, Uint8Array.of(0xff))).toEqual({ kind: 'keepalive' });
  });

  it('four zero bytes then IKE is IKE with the marker; SPI 0 is never ESP', () => {
    const c = classifyUdpPayload(4500, 4500, concatBytes(new Uint8Array(4), ike(28)));
    expect(c.kind).toBe('ike-nonesp');
    const short = classifyUdpPayload(4500, 4500, concatBytes(new Uint8Array(4), ike(28).subarray(0, 27)));
    expect(short.kind).toBe('malformed');
    expect((short as { reason: string }).reason).toMatch(/marker followed by 27 bytes/);
    expect(classifyUdpPayload(4500, 4500, new Uint8Array(4)).kind).toBe('malformed');
  });

  it('anything else on the NAT-T pair is ESP, from the first non-zero SPI', () => {
    expect(classifyUdpPayload(4500, 26329, fromHex('00000001 00000001'))).toEqual({
      kind: 'esp',
      spi: 1,
      esp: fromHex('00000001 00000001'),
    });
    expect(classifyUdpPayload(4500, 4500, fromHex('ffffffff 00000009 aa'))).toMatchObject({ kind: 'esp', spi: 0xffffffff });
    // A keepalive-looking first byte in a longer payload is ESP.
    expect(classifyUdpPayload(4500, 4500, fromHex('ff000000 00000001'))).toMatchObject({ kind: 'esp', spi: 0xff000000 });
    const tooShort = classifyUdpPayload(4500, 4500, fromHex('33edbb96 0000'));
    expect(tooShort.kind).toBe('malformed');
  });

  it('payloads too short for any form are unknown', () => {
    expect(classifyUdpPayload(4500, 4500, new Uint8Array(0))).toMatchObject({ kind: 'unknown', reason: 'empty payload' });
    expect(classifyUdpPayload(4500, 4500, Uint8Array.of(0xfe)).kind).toBe('unknown');
    expect(classifyUdpPayload(4500, 4500, Uint8Array.of(0xff, 0xff)).kind).toBe('unknown');
    expect(classifyUdpPayload(4500, 4500, Uint8Array.of(0, 0, 0)).kind).toBe('unknown');
    expect(classifyUdpPayload(500, 500, new Uint8Array(0)).kind).toBe('unknown');
  });

  it('on port 500 everything is plain IKE; a marker or a keepalive there is reported', () => {
    expect(classifyUdpPayload(500, 500, ike(28))).toEqual({ kind: 'ike', ike: ike(28), offset: 0 });
    expect(classifyUdpPayload(29396, 500, ike(232)).kind).toBe('ike');
    const marker = classifyUdpPayload(500, 500, concatBytes(new Uint8Array(4), ike(28)));
    expect(marker.kind).toBe('malformed');
    expect((marker as { reason: string }).reason).toMatch(/four zero bytes on port 500/);
    const ka = classifyUdpPayload(500, 4500, KEEPALIVE);
    expect(ka.kind).toBe('malformed');
    expect((ka as { reason: string }).reason).toMatch(/keepalive on port 500/);
    expect(classifyUdpPayload(500, 500, ike(28).subarray(0, 27)).kind).toBe('malformed');
  });

  it('never throws, and each kind keeps its invariants (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(500, 4500, 26329, 0, 65535), fc.constantFrom(500, 4500, 1), fc.uint8Array({ maxLength: 40 }), (sp, dp, p) => {
        const c = classifyUdpPayload(sp, dp, p);
        switch (c.kind) {
          case 'ike':
            expect(needsNonEspMarker(sp, dp)).toBe(false);
            expect(c.ike.length).toBeGreaterThanOrEqual(28);
            break;
          case 'ike-nonesp':
            expect(needsNonEspMarker(sp, dp)).toBe(true);
            expect(toHex(p.subarray(0, 4))).toBe('00000000');
            break;
          case 'esp':
            expect(c.spi).not.toBe(0);
            expect(p.length).toBeGreaterThanOrEqual(8);
            break;
          case 'keepalive':
            expect(toHex(p)).toBe('ff');
            break;
          default:
            expect(c.reason.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});
