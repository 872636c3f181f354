/**
 * The pieces of the live layer that need no sockets: ICMP echo building and parsing,
 * the ESP suite names, the text and JSON renderers, the inner-address rule, and
 * `natt-sim peer` flag validation (one line naming the flag, exit 2).
 */
import { describe, expect, it } from 'vitest';
import { internetChecksum, parseIp } from '../../src/core/index.ts';
import { EncrId, IntegId } from '../../src/crypto/algorithms.ts';
import {
  ECHO_DATA_LEN,
  buildEchoReply,
  buildEchoRequest,
  cipherSuiteFromName,
  echoData,
  formatRttMs,
  jsonLine,
  parseEcho,
  textLine,
  PingStats,
  type LiveEvent,
  type RenderContext,
} from '../../src/live/index.ts';
import { firstAddress, flagOfField } from '../../src/cli/peer.ts';
import { runCli } from '../helpers/cli.ts';

const A = parseIp('10.77.10.1');
const B = parseIp('10.77.20.1');

describe('ICMP echo', () => {
  it('builds an IPv4 echo request ping(8) would send: 84 bytes, valid checksums', () => {
    const pkt = buildEchoRequest(A, B, 0x1234, 7, echoData(1_700_000_000_000_000));
    expect(pkt.length).toBe(20 + 8 + ECHO_DATA_LEN);
    expect(internetChecksum(pkt.subarray(0, 20))).toBe(0);
    expect(internetChecksum(pkt.subarray(20))).toBe(0);
    expect([pkt[9], pkt[20], pkt[21]]).toEqual([1, 8, 0]);
    const e = parseEcho(pkt)!;
    expect(e).toMatchObject({ family: 4, kind: 'request', id: 0x1234, seq: 7, icmpLength: 64 });
    expect(e.data.subarray(8)).toEqual(Uint8Array.from({ length: 48 }, (_, i) => 0x10 + i));
  });

  it('answers with addresses swapped, type 0, same id, sequence and data', () => {
    const req = parseEcho(buildEchoRequest(A, B, 99, 3, echoData(5)))!;
    const rep = parseEcho(buildEchoReply(req))!;
    expect(rep).toMatchObject({ kind: 'reply', id: 99, seq: 3, src: B, dst: A });
    expect(rep.data).toEqual(req.data);
  });

  it('builds and parses ICMPv6 echo with the pseudo-header checksum', () => {
    const s = parseIp('fd00:77:10::1');
    const d = parseIp('fd00:77:20::1');
    const pkt = buildEchoRequest(s, d, 1, 1, echoData(0));
    expect(pkt[6]).toBe(58);
    expect(pkt[40]).toBe(128);
    expect(parseEcho(pkt)).toMatchObject({ family: 6, kind: 'request' });
    expect(parseEcho(buildEchoReply(parseEcho(pkt)!))).toMatchObject({ family: 6, kind: 'reply', src: d, dst: s });
  });

  it('rejects a corrupted checksum and non-ICMP packets', () => {
    const pkt = buildEchoRequest(A, B, 1, 1, echoData(0));
    pkt[pkt.length - 1]! ^= 1;
    expect(parseEcho(pkt)).toBeUndefined();
    expect(parseEcho(Uint8Array.of(0x45, 0, 0))).toBeUndefined();
  });
});

describe('ESP suite names', () => {
  it('inverts the engine names', () => {
    expect(cipherSuiteFromName('ESP:AES_GCM_16_128/NO_EXT_SEQ')).toEqual({ encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE });
    expect(cipherSuiteFromName('ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/EXT_SEQ')).toEqual({ encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 });
    expect(cipherSuiteFromName('ESP:CHACHA20_POLY1305/NO_EXT_SEQ')).toBeUndefined();
  });
});

describe('the inner address and flag names', () => {
  it('takes the first host of a selector', () => {
    expect(firstAddress('10.77.10.0/24')).toEqual(parseIp('10.77.10.1'));
    expect(firstAddress('10.77.10.7/32')).toEqual(parseIp('10.77.10.7'));
    expect(firstAddress('10.77.10.0-10.77.10.9')).toEqual(parseIp('10.77.10.0'));
    expect(firstAddress('fd00::/64')).toEqual(parseIp('fd00::1'));
    expect(firstAddress('0.0.0.0/0')).toBeUndefined();
  });

  it('maps engine config fields to flags', () => {
    expect(flagOfField('peer.espProposals')).toBe('--esp-proposal');
    expect(flagOfField('peer.localTs[1]')).toBe('--local-ts');
    expect(flagOfField('peer.ports.natt')).toBe('--natt-port');
    expect(flagOfField('peer.keepaliveInterval')).toBe('--keepalive');
  });
});

describe('rendering', () => {
  const ctx: RenderContext = { role: 'initiator', natt: 4500, keepaliveUs: 20_000_000, encap: 'force', verbose: false };
  const natEvent = (natHere: boolean, natThere: boolean, natFake: boolean) =>
    ({ type: 'nat-detected', at: 0, saId: 1, natHere, natThere, natFake, source: {}, destination: {}, sent: [] }) as unknown as LiveEvent;

  it('prints the NAT verdict with the float and the keepalives', () => {
    expect(textLine(natEvent(true, false, false), ctx)).toBe('NAT detected: natHere (this side is behind NAT) — floating to 4500, sending keepalives every 20s');
    expect(textLine(natEvent(false, false, true), ctx)).toBe('NAT detected: natFake (no NAT, UDP encapsulation forced) — floating to 4500');
    expect(textLine(natEvent(false, true, false), { ...ctx, role: 'responder' })).toBe(
      'NAT detected: natThere (the peer is behind NAT, or fakes its NAT-D hash) — expecting the peer on 4500',
    );
  });

  it('prints pings like ping(8)', () => {
    const reply = { type: 'ping-reply', at: 0, from: B, seq: 1, bytes: 64, rttUs: 520, duplicate: false } as const;
    expect(textLine(reply, ctx)).toBe('64 bytes from 10.77.20.1: icmp_seq=1 time=0.520 ms');
    expect([formatRttMs(520), formatRttMs(3_456), formatRttMs(15_800), formatRttMs(123_400)]).toEqual(['0.520', '3.46', '15.8', '123']);
    const stats = new PingStats();
    stats.sent(1, 0);
    stats.sent(2, 1_000_000);
    stats.reply(1, 400);
    expect(stats.reply(1, 500)).toEqual({ rttUs: 500, duplicate: true });
    expect(stats.reply(9, 500)).toBeUndefined();
    const summary = textLine({ type: 'ping-summary', at: 0, dst: B, transmitted: 2, received: stats.received, elapsedUs: stats.elapsed(), rttUs: stats.rttStats() }, ctx);
    expect(summary).toBe(
      ['--- 10.77.20.1 ping statistics ---', '2 packets transmitted, 1 received, 50% packet loss, time 1000ms', 'rtt min/avg/max/mdev = 0.400/0.400/0.400/0.000 ms'].join('\n'),
    );
  });

  it('writes JSON with addresses as text, bytes as hex and ESP SPIs as 8 hex digits', () => {
    const line = jsonLine({
      type: 'child-installed',
      at: 5,
      saId: 1,
      childId: 2,
      name: 'net',
      spiIn: 0xc1,
      spiOut: 0xdeadbeef,
      suite: 'ESP:AES_GCM_16_128/NO_EXT_SEQ',
      encap: { local: { addr: A, port: 4500 }, remote: { addr: B, port: 28644 } },
      localTs: ['10.77.10.0/24'],
      remoteTs: ['10.77.20.0/24'],
    });
    expect(JSON.parse(line)).toEqual({
      type: 'child-installed',
      at: 5,
      saId: 1,
      childId: 2,
      name: 'net',
      spiIn: '0x000000c1',
      spiOut: '0xdeadbeef',
      suite: 'ESP:AES_GCM_16_128/NO_EXT_SEQ',
      encap: { local: '10.77.10.1:4500', remote: '10.77.20.1:28644' },
      localTs: ['10.77.10.0/24'],
      remoteTs: ['10.77.20.0/24'],
    });
  });
});

describe('natt-sim peer: bad flags are one line naming the flag, exit 2', () => {
  const base = ['peer', '--role', 'initiator', '--local', '127.0.0.1', '--remote', '127.0.0.2', '--psk', 'k', '--id', 'ini.test'];
  const cases: [string[], RegExp][] = [
    [['peer'], /^natt-sim: --role: required/],
    [['peer', '--role', 'client'], /^natt-sim: --role: expected "initiator" or "responder", got "client"$/],
    [['peer', '--role', 'responder', '--local', '0.0.0.0', '--psk', 'k', '--id', 'r'], /^natt-sim: --local: give a specific address/],
    [['peer', '--role', 'initiator', '--local', '127.0.0.1', '--psk', 'k', '--id', 'i'], /^natt-sim: --remote: required/],
    [[...base, '--encap', 'off'], /^natt-sim: --encap: raw ESP \(protocol 50\) is not supported in live mode; use --encap force or a NAT$/],
    [[...base, '--encap', 'sometimes'], /^natt-sim: --encap: expected auto, force or off/],
    [[...base, '--esp-proposal', 'aes999'], /^natt-sim: --esp-proposal: /],
    [[...base, '--ike-proposal', 'aes128-sha256'], /^natt-sim: --ike-proposal: /],
    [[...base, '--remote-ts', '10.0.0.0/40'], /^natt-sim: --remote-ts: /],
    [[...base, '--keepalive', 'often'], /^natt-sim: --keepalive: not a duration: "often"/],
    [[...base, '--ike-port', '0'], /^natt-sim: --ike-port: a UDP port is 1\.\.65535/],
    [[...base, '--ping', '10.77.20.1'], /^natt-sim: --ping: no tunnel source address: give --inner or --local-ts$/],
    [[...base, '--ping', '10.77.20.1', '--inner', '10.77.10.1', '--count', '0'], /^natt-sim: --count: an integer 1\.\.1000000, got "0"$/],
    [[...base, '--interval', '1s'], /^natt-sim: --interval: needs --ping$/],
    [[...base, '--remote', 'fd00::1'], /^natt-sim: --remote: fd00::1 and --local 127\.0\.0\.1 are of different address families$/],
    [[...base, '--frobnicate'], /^natt-sim: Unknown argument: frobnicate$/],
  ];
  it.each(cases)('%j', async (argv, re) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd()).toMatch(re);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });
});
