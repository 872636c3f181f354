/**
 * Openswan KLIPS test inputs: ESP-in-UDP (RFC 3948, ports 4500/4500, UDP checksum 0)
 * from 192.1.2.23 to 192.1.2.45, SPI 0x12345678, 3DES-CBC + HMAC-MD5-96, keys in
 * keys/openswan-west-natt-01.esp_sa (the west-natt-01 test's `ipsec spi` command).
 * The expected cleartext (openswan/west-natt-01/spi1-cleartext.txt) is ICMP echo
 * requests 192.0.2.1 → 192.0.1.1 with DF.
 *
 * This Node build's node:crypto does provide des-ede3-cbc and md5, so the suite is
 * decrypted; on a build without them the processor answers with the typed result
 * "3DES-CBC is not supported by this Node build", which the second test checks.
 */
import { describe, expect, it } from 'vitest';
import { getCiphers, getHashes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { formatIp, parseIp, SeededRng } from '../../src/core/index.ts';
import { EncrId, IntegId } from '../../src/crypto/algorithms.ts';
import { parseEspSaTable } from '../../src/crypto/keys-out.ts';
import { EspProcessor } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase } from '../../src/ipsec/sad.ts';
import { EthernetCodec } from '../../src/wire/link.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { UdpCodec } from '../../src/wire/udp.ts';
import { CAPTURES_DIR, readPcap } from '../helpers/pcap-frames.ts';

const HAS_3DES_MD5 = getCiphers().includes('des-ede3-cbc') && getHashes().includes('md5');

const CAPTURES = [
  { path: 'openswan/klips-inputs/01-sunrise-sunset-udpesp-ping.pcap', frames: 1 },
  { path: 'openswan/klips-inputs/08-sunrise-sunset-udpesp-ping.pcap', frames: 8 },
  { path: 'tcpdump/espudp1.pcap', frames: 8 },
];

const row = parseEspSaTable(readFileSync(CAPTURES_DIR + 'keys/openswan-west-natt-01.esp_sa', 'utf8'))[0]!;
const cleartext = readFileSync(CAPTURES_DIR + 'openswan/west-natt-01/spi1-cleartext.txt', 'utf8')
  .split('\n')
  .filter((l) => l.includes('ICMP echo request'));

function processor(): { p: EspProcessor; sad: SecurityAssociationDatabase } {
  const sad = new SecurityAssociationDatabase();
  sad.addInbound(
    'west',
    {
      spi: row.spi,
      suite: { encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_MD5_96 },
      encKey: row.key,
      integKey: row.authKey,
      esn: false,
      replayWindow: 64,
      encap: { local: { addr: parseIp(row.dst), port: 4500 }, remote: { addr: parseIp(row.src), port: 4500 } },
    },
    0,
  );
  return { p: new EspProcessor({ sad, rng: new SeededRng(1) }), sad };
}

function ipPackets(path: string): Uint8Array[] {
  return readPcap(path).frames.map((f) => EthernetCodec.decode(f.data).payload);
}

describe('Openswan ESP-in-UDP with 3DES-CBC + HMAC-MD5-96', () => {
  it('the key file row is the west-natt-01 SA', () => {
    expect(row.spi).toBe(0x12345678);
    expect(row.encr).toBe(EncrId.DES3);
    expect(row.integ).toBe(IntegId.HMAC_MD5_96);
    expect(cleartext.length).toBeGreaterThanOrEqual(8);
  });

  it.runIf(HAS_3DES_MD5)('every frame decrypts to the ICMP echo request 192.0.2.1 → 192.0.1.1 (DF) of the cleartext log', () => {
    for (const c of CAPTURES) {
      const { p, sad } = processor();
      const packets = ipPackets(c.path);
      expect(packets).toHaveLength(c.frames);
      packets.forEach((ip, i) => {
        // ESP-in-UDP sent with no UDP checksum (RFC 3948 §3.1.1) is accepted.
        expect(UdpCodec.decode(Ipv4Codec.decode(ip).payload).checksum).toBe(0);
        const r = p.receive(ip);
        expect(r.ok, `${c.path} frame ${i + 1}: ${r.ok ? '' : r.message}`).toBe(true);
        if (!r.ok) return;
        expect(r.sequence).toBe(BigInt(i + 1));
        const inner = Ipv4Codec.decode(r.inner);
        expect(`${formatIp(inner.src)} > ${formatIp(inner.dst)}: ICMP echo request${inner.dontFragment ? ' (DF)' : ''}`).toBe(cleartext[i]);
        expect(inner.protocol).toBe(1);
        expect(inner.payload[0]).toBe(8);
      });
      expect(sad.inbound(0x12345678)!.counters).toMatchObject({ decaps: c.frames, verify: c.frames, decrypt: c.frames, recvErrors: 0 });
    }
  });

  it.runIf(!HAS_3DES_MD5)('reports "3DES-CBC is not supported by this Node build" as a typed result', () => {
    const { p } = processor();
    const r = p.receive(ipPackets(CAPTURES[0]!.path)[0]!);
    expect(r).toMatchObject({ ok: false, reason: 'unsupported-suite', message: '3DES-CBC is not supported by this Node build' });
  });

  it('a flipped ICV byte in a captured frame is an authentication failure, not an exception', () => {
    const { p, sad } = processor();
    const ip = new Uint8Array(ipPackets(CAPTURES[1]!.path)[0]!);
    ip[ip.length - 1] = ip[ip.length - 1]! ^ 0x01;
    const r = p.receive(ip);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(HAS_3DES_MD5 ? 'auth-failed' : 'unsupported-suite');
    expect(sad.inbound(0x12345678)!.counters.recvErrors).toBe(1);
  });
});
