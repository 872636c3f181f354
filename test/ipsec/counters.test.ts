/** Per-SA counters after a scripted exchange, and the `show crypto ipsec sa` rendering. */
import { describe, expect, it } from 'vitest';
import { parseIp, parsePrefix, seconds } from '../../src/core/index.ts';
import { EncrId, IntegId } from '../../src/crypto/algorithms.ts';
import { ciscoTransformName, formatShowCryptoIpsecSa, newSaCounters } from '../../src/ipsec/counters.ts';
import { ESP_DROP } from '../../src/ipsec/esp-processor.ts';
import { showCryptoIpsecSa, showCryptoIpsecSaView } from '../../src/ipsec/show.ts';
import { INNER_A, INNER_B, SUITES, icmpEcho, makePair } from './fixtures.ts';

describe('counters after a scripted exchange', () => {
  // A (192.0.2.1, behind the NAT) pings B (198.51.100.2) five times; B answers four;
  // then B sees one replayed packet, one with a flipped ICV byte, one for an unknown SPI,
  // and A tries to send a packet larger than the path MTU with DF set.
  function script() {
    const pair = makePair({ suite: SUITES['aes128gcm16']!, extra: { lifetime: { seconds: 3600, kilobytes: 4608000 } } });
    const { a, b } = pair;
    b.sad.setSelectors('net', { local: [parsePrefix('10.77.20.0/24')], remote: [parsePrefix('10.77.10.0/24')] });
    const requests: Uint8Array[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i }));
      if (!r.ok) throw new Error(r.message);
      requests.push(r.packets[0]!);
      expect(b.receive(r.packets[0]!).ok).toBe(true);
    }
    for (let i = 1; i <= 4; i++) {
      const r = b.protect('net', icmpEcho(INNER_B, INNER_A, { type: 0, seq: i }));
      if (!r.ok) throw new Error(r.message);
      expect(a.receive(r.packets[0]!).ok).toBe(true);
    }
    expect(b.receive(requests[2]!)).toMatchObject({ ok: false, reason: ESP_DROP.REPLAY_DUPLICATE });
    const sixth = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: 6 }));
    if (!sixth.ok) throw new Error(sixth.message);
    const bad = new Uint8Array(sixth.packets[0]!);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x80;
    expect(b.receive(bad)).toMatchObject({ ok: false, reason: ESP_DROP.AUTH_FAILED });
    const alien = new Uint8Array(sixth.esp);
    alien.set([0xde, 0xad, 0xbe, 0xef], 0);
    expect(b.receiveEsp(alien)).toMatchObject({ ok: false, reason: ESP_DROP.UNKNOWN_SPI });
    expect(a.protect('net', icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1500) }))).toMatchObject({ ok: false, reason: ESP_DROP.MTU_EXCEEDED });
    return pair;
  }

  it('has exact values on both sides', () => {
    const { a, b, spiAB, spiBA } = script();
    expect(a.sad.outbound('net')!.counters).toMatchObject({ encaps: 6, encrypt: 6, digest: 6, sendErrors: 1, mtuDrops: 1, bytesOut: 6 * 84 });
    expect(a.sad.inbound(spiBA)!.counters).toMatchObject({ decaps: 4, decrypt: 4, verify: 4, recvErrors: 0 });
    expect(b.sad.inbound(spiAB)!.counters).toMatchObject({
      decaps: 5,
      decrypt: 5,
      verify: 5,
      recvErrors: 2,
      replayFailures: 1,
      authFailures: 1,
      bytesIn: 5 * 84,
    });
    expect(b.sad.outbound('net')!.counters).toMatchObject({ encaps: 4, encrypt: 4, digest: 4, sendErrors: 0 });
    expect(b.counters.invalidSpi).toBe(1);
    expect(b.sad.childCounters('net')).toMatchObject({ encaps: 4, decaps: 5, recvErrors: 2 });
  });

  it('renders B’s view as `show crypto ipsec sa`, counters included', () => {
    const { b } = script();
    const text = showCryptoIpsecSa(b.sad, 'net', seconds(10), { interfaceName: 'GigabitEthernet0/1', cryptoMapTag: 'NATT', invalidSpi: b.counters.invalidSpi });
    expect(text).toBe(`
interface: GigabitEthernet0/1
    Crypto map tag: NATT, local addr 198.51.100.2

   protected vrf: (none)
   local  ident (addr/mask/prot/port): (10.77.20.0/255.255.255.0/0/0)
   remote ident (addr/mask/prot/port): (10.77.10.0/255.255.255.0/0/0)
   current_peer 192.0.2.1 port 4500
     PERMIT, flags={origin_is_acl,}
    #pkts encaps: 4, #pkts encrypt: 4, #pkts digest: 4
    #pkts decaps: 5, #pkts decrypt: 5, #pkts verify: 5
    #pkts compressed: 0, #pkts decompressed: 0
    #pkts not compressed: 0, #pkts compr. failed: 0
    #pkts not decompressed: 0, #pkts decompress failed: 0
    #send errors 0, #recv errors 2
    #pkts invalid sa (rcv) 1, #pkts invalid prot (recv) 0
    #pkts verify failed: 1, #pkts invalid len (rcv) 0
    #pkts replay rollover (send): 0, #pkts replay failed (rcv): 1
    #pkts bad padding (rcv): 0, #pkts mtu exceeded (send): 0

     local crypto endpt.: 198.51.100.2, remote crypto endpt.: 192.0.2.1
     plaintext mtu 1438, path mtu 1500, ip mtu 1500, ip mtu idb GigabitEthernet0/1
     current outbound spi: 0xC2000002(3254779906)
     PFS (Y/N): N, DH group: none

     inbound esp sas:
      spi: 0xC1000001(3238002689)
        transform: esp-gcm 128 ,
        in use settings ={Tunnel UDP-Encaps, }
        conn id: 2001, flow_id: SW:2001, sibling_flags 80000040, crypto map: NATT
        sa timing: remaining key lifetime (k/sec): (4608000/3590)
        IV size: 8 bytes
        replay detection support: Y  replay window size: 64
        Status: ACTIVE(ACTIVE)

     inbound ah sas:

     inbound pcp sas:

     outbound esp sas:
      spi: 0xC2000002(3254779906)
        transform: esp-gcm 128 ,
        in use settings ={Tunnel UDP-Encaps, }
        conn id: 2002, flow_id: SW:2002, sibling_flags 80000040, crypto map: NATT
        sa timing: remaining key lifetime (k/sec): (4608000/3590)
        IV size: 8 bytes
        replay detection support: N
        Status: ACTIVE(ACTIVE)

     outbound ah sas:

     outbound pcp sas:
`);
  });

  it('A’s view: the MTU drop is a send error', () => {
    const { a } = script();
    const text = showCryptoIpsecSa(a.sad, 'net', seconds(0));
    expect(text).toContain('    #pkts encaps: 6, #pkts encrypt: 6, #pkts digest: 6\n');
    expect(text).toContain('    #pkts decaps: 4, #pkts decrypt: 4, #pkts verify: 4\n');
    expect(text).toContain('    #send errors 1, #recv errors 0\n');
    expect(text).toContain('#pkts mtu exceeded (send): 1\n');
    expect(text).toContain('   current_peer 198.51.100.2 port 4500\n');
  });
});

describe('rendering details', () => {
  it('raw ESP shows {Tunnel, } and port 500; CBC transforms name cipher, key size and HMAC', () => {
    const { a } = makePair({ suite: SUITES['aes256-sha256']!, encap: false });
    const text = showCryptoIpsecSa(a.sad, 'net', 0);
    expect(text).toContain('        in use settings ={Tunnel, }\n');
    expect(text).toContain('        transform: esp-aes 256 esp-sha256-hmac ,\n');
    expect(text).toContain('        IV size: 16 bytes\n');
    expect(text).toContain('   current_peer 198.51.100.2 port 500\n');
    // 1500 - 20 - 8 - 16 - 16 = 1440, whole 16-byte blocks: 1440 - 2.
    expect(text).toContain('     plaintext mtu 1438, path mtu 1500,');
  });

  it('Cisco transform names', () => {
    expect(ciscoTransformName({ encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE })).toBe('esp-gcm 256');
    expect(ciscoTransformName({ encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 })).toBe('esp-aes 128 esp-sha-hmac');
    expect(ciscoTransformName({ encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_MD5_96 })).toBe('esp-3des esp-md5-hmac');
    expect(ciscoTransformName({ encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA2_512_256 })).toBe('esp-null esp-sha512-hmac');
  });

  it('IPv6 identities print as prefix/length; an expired lifetime prints 0 seconds', () => {
    const text = formatShowCryptoIpsecSa({
      interfaceName: 'Gi0/0',
      cryptoMapTag: 'M',
      localAddr: parseIp('2001:db8::1'),
      localIdent: parsePrefix('2001:db8:a::/48'),
      currentPeer: { addr: parseIp('2001:db8::2'), port: 500 },
      counters: newSaCounters(),
      localCryptoEndpoint: parseIp('2001:db8::1'),
      remoteCryptoEndpoint: parseIp('2001:db8::2'),
      plaintextMtu: 1400,
      pathMtu: 1500,
      ipMtu: 1500,
      inbound: [{ spi: 1, suite: SUITES['aes128gcm16']!, udpEncaps: false, connId: 7, remainingSec: 0, remainingKb: 10, replayDetection: true, status: 'ACTIVE' }],
      outbound: [],
    });
    expect(text).toContain('(2001:db8:a::/48/0/0)');
    expect(text).toContain('(::/0/0/0)');
    expect(text).toContain('(k/sec): (10/0)');
    expect(text).toContain('current outbound spi: 0x0(0)');
  });

  it('an unknown child has no view', () => {
    const { a } = makePair({ suite: SUITES['aes128gcm16']! });
    expect(showCryptoIpsecSaView(a.sad, 'nope', 0)).toBeUndefined();
    expect(showCryptoIpsecSa(a.sad, 'nope', 0)).toBe('');
  });
});
