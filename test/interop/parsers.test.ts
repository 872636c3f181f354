/**
 * The harness's parsers, on text recorded in the lab (strongSwan 5.9.8,
 * tshark 4.0.17, conntrack 1.4.7, iputils ping) and on key logs written by
 * src/crypto/keys-out.ts. No root, no namespaces.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EncrId, IntegId, DhGroup, PrfId, charonChildKeyLog, charonIkeKeyLog } from '../../src/crypto/index.ts';
import { cipherOfProposal, parseCharonKeyLog, parseConntrack, parseFrameLine, parseListSas, parsePing, summarize, wiresharkRows } from './lab.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

// `swanctl --list-sas --raw` on both peers of a NAT run (ini behind MASQUERADE --to-ports 20000-29999).
const RAW_INI =
  'list-sa event {lab {uniqueid=1 version=2 state=ESTABLISHED local-host=10.77.0.2 local-port=4500 local-id=ini.test remote-host=198.51.100.2 remote-port=4500 remote-id=rsp.test initiator=yes initiator-spi=5ffa4c5369671509 responder-spi=55c94e24566f4832 nat-local=yes nat-remote=yes nat-any=yes encr-alg=AES_GCM_16 encr-keysize=128 prf-alg=PRF_HMAC_SHA2_256 dh-group=CURVE_25519 established=1 rekey-time=13728 child-sas {net-1 {name=net uniqueid=1 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=d3bec089 spi-out=08f4fe2a encr-alg=AES_GCM_16 encr-keysize=128 bytes-in=252 packets-in=3 use-in=0 bytes-out=252 packets-out=3 use-out=0 rekey-time=3258 life-time=3959 install-time=1 local-ts=[10.77.10.0/24] remote-ts=[10.77.20.0/24]}}}}\nlist-sas reply {}\n';
const RAW_RSP =
  'list-sa event {rw {uniqueid=1 version=2 state=ESTABLISHED local-host=198.51.100.2 local-port=4500 local-id=rsp.test remote-host=198.51.100.1 remote-port=20120 remote-id=ini.test initiator-spi=5ffa4c5369671509 responder-spi=55c94e24566f4832 nat-remote=yes nat-any=yes encr-alg=AES_GCM_16 encr-keysize=128 prf-alg=PRF_HMAC_SHA2_256 dh-group=CURVE_25519 established=1 rekey-time=14063 child-sas {net-1 {name=net uniqueid=1 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=08f4fe2a spi-out=d3bec089 encr-alg=AES_GCM_16 encr-keysize=128 bytes-in=252 packets-in=3 use-in=0 bytes-out=252 packets-out=3 use-out=0 rekey-time=3366 life-time=3959 install-time=1 local-ts=[10.77.20.0/24] remote-ts=[10.77.10.0/24]}}}}\nlist-sas reply {}\n';

describe('parseListSas', () => {
  it('reads the initiator behind the NAT', () => {
    const [sa, ...rest] = parseListSas(RAW_INI);
    expect(rest).toEqual([]);
    expect(sa).toMatchObject({
      name: 'lab',
      uniqueId: 1,
      version: 2,
      state: 'ESTABLISHED',
      localHost: '10.77.0.2',
      localPort: 4500,
      remoteHost: '198.51.100.2',
      remotePort: 4500,
      localId: 'ini.test',
      remoteId: 'rsp.test',
      initiator: true,
      spiI: '5ffa4c5369671509',
      spiR: '55c94e24566f4832',
      natLocal: true,
      natRemote: true,
      natFake: false,
      natAny: true,
      encrAlg: 'AES_GCM_16',
      encrKeysize: 128,
      integAlg: undefined,
      prfAlg: 'PRF_HMAC_SHA2_256',
      dhGroup: 'CURVE_25519',
      established: 1,
    });
    expect(sa!.children).toHaveLength(1);
    expect(sa!.children[0]).toMatchObject({
      key: 'net-1',
      name: 'net',
      state: 'INSTALLED',
      mode: 'TUNNEL',
      protocol: 'ESP',
      encap: true,
      spiIn: 'd3bec089',
      spiOut: '08f4fe2a',
      packetsIn: 3,
      packetsOut: 3,
      bytesIn: 252,
      localTs: ['10.77.10.0/24'],
      remoteTs: ['10.77.20.0/24'],
    });
  });

  it('reads the responder: flags that are absent are false, the mapped port is the remote port', () => {
    const [sa] = parseListSas(RAW_RSP);
    expect(sa).toMatchObject({ name: 'rw', initiator: false, natLocal: false, natRemote: true, natFake: false, remoteHost: '198.51.100.1', remotePort: 20120 });
    expect(sa!.children[0]!.spiIn).toBe('08f4fe2a');
  });

  it('reads several IKE_SAs, lists with several entries, and an empty reply', () => {
    const two = RAW_INI.replace('local-ts=[10.77.10.0/24]', 'local-ts=[10.77.10.0/24 10.77.11.0/24]') + RAW_RSP;
    const sas = parseListSas(two);
    expect(sas.map((s) => s.name)).toEqual(['lab', 'rw']);
    expect(sas[0]!.children[0]!.localTs).toEqual(['10.77.10.0/24', '10.77.11.0/24']);
    expect(parseListSas('list-sas reply {}\n')).toEqual([]);
  });

  it('rejects an unterminated event', () => {
    expect(() => parseListSas('list-sa event {lab {state=ESTABLISHED}\n')).toThrow(/unterminated/);
  });
});

describe('parseCharonKeyLog on recorded 5.9.8 logs (AES-GCM-128, NAT run)', () => {
  const ini = parseCharonKeyLog(fixture('charon-ini-gcm.log'));
  const rsp = parseCharonKeyLog(fixture('charon-rsp-gcm.log'));

  it('finds the IKE_SA keys and the SPIs of the last check-in with a responder SPI', () => {
    expect(ini.ike).toHaveLength(1);
    const sa = ini.ike[0]!;
    expect(sa).toMatchObject({ uniqueId: 1, conn: 'lab', initiator: true, spiI: 'cdb29a7a6caf7d8a', spiR: 'eaa56e2b04f15964' });
    expect(sa.proposal).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(Buffer.from(sa.skEi).toString('hex')).toBe('95a6fafa8bb11c912494cd0d84d191b0f000ea23');
    expect(Buffer.from(sa.skEr).toString('hex')).toBe('6975b41198e65bb12590d4f5538536ce27f68a73');
    expect(Buffer.from(sa.skD).toString('hex')).toBe('1a1b9c7fdcc33c103e809a599d6a73494584818d4c95d258a1a1e80f8e2f15c3');
    expect(sa.skAi).toHaveLength(0);
    expect(sa.skAr).toHaveLength(0);
  });

  it('matches the responder dumps tagged <1> (before the peer config is known) to the SA named later', () => {
    expect(rsp.ike).toHaveLength(1);
    expect(rsp.ike[0]).toMatchObject({ conn: 'lab', initiator: false, spiI: 'cdb29a7a6caf7d8a', spiR: 'eaa56e2b04f15964' });
    expect(rsp.ike[0]!.skEi).toEqual(ini.ike[0]!.skEi);
    expect(rsp.ike[0]!.skPr).toEqual(ini.ike[0]!.skPr);
  });

  it('finds the CHILD_SA, and which side initiated it', () => {
    expect(ini.children).toHaveLength(1);
    expect(ini.children[0]).toMatchObject({ child: 'net', childUniqueId: 1, spiIn: 'cdd45d06', spiOut: 'fb206e17', exchangeInitiator: true, proposal: 'ESP:AES_GCM_16_128/NO_EXT_SEQ' });
    expect(Buffer.from(ini.children[0]!.encrI).toString('hex')).toBe('c9695b86b1d7b51a4ec794b0422b7322cb54c9dc');
    expect(rsp.children[0]).toMatchObject({ spiIn: 'fb206e17', spiOut: 'cdd45d06', exchangeInitiator: false });
  });

  it('produces the Wireshark rows, the same from either log', () => {
    const rows = wiresharkRows(ini);
    expect(rows.ikev2).toEqual([
      'cdb29a7a6caf7d8a,eaa56e2b04f15964,95a6fafa8bb11c912494cd0d84d191b0f000ea23,6975b41198e65bb12590d4f5538536ce27f68a73,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"',
    ]);
    expect(rows.esp).toEqual([
      '"IPv4","*","*","0xfb206e17","AES-GCM with 16 octet ICV [RFC4106]","0xc9695b86b1d7b51a4ec794b0422b7322cb54c9dc","NULL",""',
      '"IPv4","*","*","0xcdd45d06","AES-GCM with 16 octet ICV [RFC4106]","0x26efd2db510d08118260ac26161a2ffcb4b4602b","NULL",""',
    ]);
    const other = wiresharkRows(rsp);
    expect(other.ikev2).toEqual(rows.ikev2);
    expect([...other.esp].sort()).toEqual([...rows.esp].sort());
  });
});

describe('parseCharonKeyLog on logs written by src/crypto/keys-out.ts (AES-CBC-256 + HMAC-SHA2-256)', () => {
  const bytes = (n: number, start: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
  const suite = { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128, prf: PrfId.HMAC_SHA2_256, dh: DhGroup.MODP_2048 } as const;
  const ikeKeys = { skD: bytes(32, 0), skAi: bytes(32, 32), skAr: bytes(32, 64), skEi: bytes(32, 96), skEr: bytes(32, 128), skPi: bytes(32, 160), skPr: bytes(32, 192) };
  const childKeys = { encrI: bytes(32, 1), integI: bytes(32, 2), encrR: bytes(32, 3), integR: bytes(32, 4) };
  const log =
    charonIkeKeyLog(
      { conn: 'lab', unique: 7, spiI: bytes(8, 0x10), spiR: bytes(8, 0x20), suite, keys: ikeKeys },
      { linePrefix: '2026-11-25T03:00:14.473 ', thread: '05' },
    ) +
    charonChildKeyLog(
      {
        conn: 'lab',
        unique: 7,
        child: 'net',
        childUnique: 3,
        suite: { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128, dh: DhGroup.NONE, esn: false },
        keys: childKeys,
        spiIn: 0xc1000001,
        spiOut: 0xc2000002,
        tsLocal: '10.77.10.0/24',
        tsRemote: '10.77.20.0/24',
      },
      { linePrefix: '2026-11-25T03:00:14.480 ', thread: '05' },
    );

  it('reads every key back, integrity keys included', () => {
    const parsed = parseCharonKeyLog(log, { childInitiator: true });
    expect(parsed.ike[0]).toMatchObject({ uniqueId: 7, conn: 'lab', spiI: '1011121314151617', spiR: '2021222324252627', ...ikeKeys });
    expect(parsed.children[0]).toMatchObject({ child: 'net', childUniqueId: 3, spiIn: 'c1000001', spiOut: 'c2000002', exchangeInitiator: true, ...childKeys });
  });

  it('labels CBC and HMAC rows and puts the initiator keys on the outbound SPI of the initiator', () => {
    const rows = wiresharkRows(parseCharonKeyLog(log, { childInitiator: true }));
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(rows.ikev2).toEqual([
      `1011121314151617,2021222324252627,${hex(ikeKeys.skEi)},${hex(ikeKeys.skEr)},"AES-CBC-256 [RFC3602]",${hex(ikeKeys.skAi)},${hex(ikeKeys.skAr)},"HMAC_SHA2_256_128 [RFC4868]"`,
    ]);
    expect(rows.esp).toEqual([
      `"IPv4","*","*","0xc2000002","AES-CBC [RFC3602]","0x${hex(childKeys.encrI)}","HMAC-SHA-256-128 [RFC4868]","0x${hex(childKeys.integI)}"`,
      `"IPv4","*","*","0xc1000001","AES-CBC [RFC3602]","0x${hex(childKeys.encrR)}","HMAC-SHA-256-128 [RFC4868]","0x${hex(childKeys.integR)}"`,
    ]);
    // Without the hint the writer's log reads as the responder's.
    const asResponder = wiresharkRows(parseCharonKeyLog(log));
    expect(asResponder.esp[0]).toContain(hex(childKeys.encrR));
  });
});

describe('cipherOfProposal', () => {
  it.each([
    ['IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519', EncrId.AES_GCM_16, 128, IntegId.NONE],
    ['IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048', EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_256_128],
    ['ESP:AES_GCM_16_256/NO_EXT_SEQ', EncrId.AES_GCM_16, 256, IntegId.NONE],
    ['ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ', EncrId.AES_CBC, 128, IntegId.HMAC_SHA1_96],
  ])('%s', (proposal, encr, keyBits, integ) => {
    expect(cipherOfProposal(proposal)).toEqual({ encr, keyBits, integ });
  });

  it('refuses a cipher Wireshark 4.0 has no label for', () => {
    expect(() => cipherOfProposal('ESP:CHACHA20_POLY1305_256/NO_EXT_SEQ')).toThrow(/no Wireshark label/);
  });
});

describe('small parsers', () => {
  it('parsePing reads the statistics and the replies', () => {
    const out =
      'PING 10.77.20.1 (10.77.20.1) from 10.77.10.1 : 56(84) bytes of data.\n64 bytes from 10.77.20.1: icmp_seq=1 ttl=64 time=0.962 ms\n64 bytes from 10.77.20.1: icmp_seq=3 ttl=64 time=0.611 ms\n\n--- 10.77.20.1 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 406ms\nrtt min/avg/max/mdev = 0.611/0.786/0.962/0.155 ms\n';
    expect(parsePing(out, 1)).toMatchObject({ transmitted: 3, received: 2, replySeqs: [1, 3], rttAvgMs: 0.786, code: 1 });
    expect(parsePing('3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n')).toMatchObject({ transmitted: 3, received: 0, replySeqs: [], rttAvgMs: undefined });
  });

  it('parseConntrack reads both directions of a NAT mapping', () => {
    const out =
      'udp      17 29 src=10.77.0.2 dst=198.51.100.2 sport=4500 dport=4500 src=198.51.100.2 dst=198.51.100.1 sport=4500 dport=20120 mark=0 use=1\n' +
      'udp      17 118 src=10.77.0.2 dst=198.51.100.2 sport=500 dport=500 src=198.51.100.2 dst=198.51.100.1 sport=500 dport=22659 [ASSURED] mark=0 use=1\n' +
      'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n';
    const entries = parseConntrack(out);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ proto: 'udp', ttlS: 29, src: '10.77.0.2', sport: 4500, replyDst: '198.51.100.1', replyDport: 20120, assured: false });
    expect(entries[1]).toMatchObject({ sport: 500, replyDport: 22659, ttlS: 118, assured: true });
  });

  it('parseFrameLine and summarize read tshark field output', () => {
    const lines = [
      '3\t0.000017\t198.51.100.1\t198.51.100.2\t22659\t500\teth:ethertype:ip:udp:isakmp\t34\t5ffa4c5369671509\t0000000000000000\t\t\t\t\t\t\t\t\t1',
      '5\t0.003328\t198.51.100.1\t198.51.100.2\t20120\t4500\teth:ethertype:ip:udp:udpencap:isakmp\t35\t5ffa4c5369671509\t55c94e24566f4832\t1\t1\t\t\t\t\t\t\t1',
      '7\t0.013958\t198.51.100.1,10.77.10.1\t198.51.100.2,10.77.20.1\t20120\t4500\teth:ethertype:ip:udp:udpencap:esp:ip:icmp:data\t\t\t\t\t\t\t0x08f4fe2a\t1\t1\t0\t8\t1',
      '13\t3.007512\t198.51.100.1\t198.51.100.2\t20120\t4500\teth:ethertype:ip:udp:udpencap\t\t\t\t\t\t1\t\t\t\t\t\t1',
    ];
    const frames = lines.map(parseFrameLine);
    expect(frames[1]).toMatchObject({ n: 5, isIke: true, ikeExchange: 35, ikeDecrypted: true, nonEspMarker: true, sport: 20120, dport: 4500 });
    expect(frames[2]).toMatchObject({ espSpi: 0x08f4fe2a, espSeq: 1, espIcvGood: true, espIcvBad: false, icmpType: 8, ipSrc: ['198.51.100.1', '10.77.10.1'] });
    expect(frames[3]).toMatchObject({ natKeepalive: true, espSpi: undefined });
    expect(summarize(frames)).toMatchObject({ frames: 4, ike: 2, ikeDecrypted: 1, ikeAuthDecrypted: 1, ikeOn4500: 1, esp: 1, espInUdp: 1, rawEsp: 0, espIcvGood: 1, espEchoRequests: 1, keepalives: 1, badUdpChecksums: 0 });
  });
});
