/**
 * Small captures built here, byte by byte, for what the reference captures do not
 * show: an IKE_AUTH in IP fragments behind a NAT that is never answered, keepalives
 * slower than the NAT timeout, raw ESP behind a NAT, the non-ESP marker missing or
 * misplaced, retransmissions, ESP gaps and replays, RFC 7383 fragments (reassembled
 * with keys) and NAT-D inside an encrypted MOBIKE UPDATE_SA_ADDRESSES.
 */
import { describe, expect, it } from 'vitest';
import {
  MARKER,
  analyze,
  chain,
  concat,
  esp,
  fragments,
  hex,
  ikev2,
  ipv4,
  natd,
  notifyBody,
  pcap,
  udp,
  type Frame,
} from './support.ts';
import { KeyRing } from '../../src/analysis/keys.ts';
import { parseIkev2DecryptionTable } from '../../src/crypto/keys-out.ts';
import { sealSkMessage } from '../../src/crypto/sk.ts';
import { validate } from '../../src/analysis/schema-check.ts';
import { REPORT_SCHEMA } from '../../src/analysis/report-schema.ts';

const I = '1111111111111111';
const R = '2222222222222222';
const ZERO = '0000000000000000';
const I_PUB = '203.0.113.5';
const I_PRIV = '10.0.0.2';
const RSP = '198.51.100.9';
const N_SRC = 16388;
const N_DST = 16389;
const SA_INIT = 34;
const AUTH = 35;
const CHILD = 36;
const INFO = 37;

/** UDP/IPv4 frame; `marker` prepends the non-ESP marker. */
function ikeFrame(t: number, src: string, sport: number, dst: string, dport: number, msg: Uint8Array, marker = false): Frame {
  return { t, packet: ipv4(src, dst, 17, udp(sport, dport, marker ? concat(MARKER, msg) : msg)) };
}

/** IKE_SA_INIT request/response through a NAT: the initiator hashes its private address. */
function saInit(): Frame[] {
  const req = ikev2(I, ZERO, SA_INIT, 0x08, 0, chain([
    [41, notifyBody(N_SRC, natd(I, ZERO, `${I_PRIV}:500`))],
    [41, notifyBody(N_DST, natd(I, ZERO, `${RSP}:500`))],
  ]));
  const resp = ikev2(I, R, SA_INIT, 0x20, 0, chain([
    [41, notifyBody(N_SRC, natd(I, R, `${RSP}:500`))],
    [41, notifyBody(N_DST, natd(I, R, `${I_PUB}:31000`))],
  ]));
  return [ikeFrame(0, I_PUB, 31000, RSP, 500, req), ikeFrame(0.01, RSP, 500, I_PUB, 31000, resp)];
}

/** An encrypted message with an opaque SK body. */
function skMessage(exchange: number, flags: number, msgid: number, bodyLength: number, firstInner = 35): Uint8Array {
  const body = new Uint8Array(bodyLength).map((_, i) => (i * 31 + msgid) & 0xff);
  return ikev2(I, R, exchange, flags, msgid, { first: 46, bytes: concat(Uint8Array.of(firstInner, 0, (4 + bodyLength) >> 8, (4 + bodyLength) & 0xff), body) });
}

describe('IKE_AUTH in IP fragments behind a NAT, never answered', () => {
  const auth = skMessage(AUTH, 0x08, 1, 1800);
  const dgram = udp(31001, 4500, concat(MARKER, auth));
  const frames: Frame[] = [...saInit()];
  [0.1, 2.1, 6.1].forEach((t, i) => {
    for (const f of fragments(I_PUB, RSP, 17, dgram, 0x100 + i)) frames.push({ t, packet: f });
  });
  const r = analyze([['frag.pcap', pcap(frames)]]);
  const sa = r.ikeSas[0]!;

  it('sees the NAT, the float to 4500 and a request that arrived fragmented and retransmitted twice', () => {
    expect(sa.natDetection).toMatchObject({ initiatorBehindNat: true, responderBehindNat: false, fake: false });
    expect([sa.floatedTo4500, sa.firstMessageOn4500]).toEqual([true, 'IKE_AUTH']);
    expect(sa.ipFragmentedMessages).toBe(1);
    expect(sa.retransmissions).toBe(2);
    expect(sa.exchanges).toEqual({ 'IKE_SA_INIT request': 1, 'IKE_SA_INIT response': 1, 'IKE_AUTH request': 1 });
    expect(sa.unanswered).toEqual([
      { message: 'IKE_AUTH request', messageId: 1, sender: 'initiator', capture: 0, frames: [4, 6, 8], retransmissions: 2, answered: false, ipFragmented: true },
    ]);
    expect(r.captures[0]!.counts).toMatchObject({ ike: 5, ipFragments: 3 });
  });

  it('reports it as an error and suggests IKE fragmentation (RFC 7383)', () => {
    const f = r.findings.find((x) => x.code === 'IKE_FRAGMENTED_UNANSWERED')!;
    expect(f).toMatchObject({ severity: 'error', capture: 0, frames: [4, 6, 8], ikeSa: 0 });
    expect(f.message).toContain('IKE fragmentation (RFC 7383)');
    expect(f.message).toContain('NATs often drop IP fragments');
    expect(r.findings[0]).toBe(f);
    expect(r.findings.map((x) => x.code)).not.toContain('RETRANSMITTED_UNANSWERED');
  });

  it('a lost second fragment leaves the message unseen: incomplete IP fragments', () => {
    const cut = pcap([...saInit(), { t: 0.1, packet: fragments(I_PUB, RSP, 17, dgram, 0x200)[0]! }]);
    const r2 = analyze([['lost.pcap', cut]]);
    expect(r2.ikeSas[0]!.exchanges['IKE_AUTH request']).toBeUndefined();
    expect(r2.findings.find((x) => x.code === 'IP_FRAGMENTS_INCOMPLETE')).toMatchObject({ severity: 'warning', frames: [3] });
  });
});

describe('keepalives, raw ESP, markers and retransmissions', () => {
  const frames: Frame[] = [...saInit()];
  frames.push(ikeFrame(0.1, I_PUB, 31001, RSP, 4500, skMessage(AUTH, 0x08, 1, 64), true));
  frames.push(ikeFrame(0.2, RSP, 4500, I_PUB, 31001, skMessage(AUTH, 0x20, 1, 48, 36), true));
  [1, 2, 2, 5].forEach((seq, i) => frames.push({ t: 1 + i * 0.5, packet: ipv4(I_PUB, RSP, 50, esp(0xc0ffee01, seq)) }));
  for (const t of [10, 20, 60]) frames.push({ t, packet: ipv4(I_PUB, RSP, 17, udp(31001, 4500, Uint8Array.of(0xff))) });
  frames.push(ikeFrame(61, I_PUB, 31001, RSP, 4500, skMessage(INFO, 0x08, 2, 32), false)); // marker missing
  frames.push(ikeFrame(62, I_PUB, 31000, RSP, 500, skMessage(INFO, 0x08, 3, 32), true)); // marker on 500
  const child = skMessage(CHILD, 0x08, 4, 80, 33);
  frames.push(ikeFrame(63, I_PUB, 31001, RSP, 4500, child, true));
  frames.push(ikeFrame(65, I_PUB, 31001, RSP, 4500, child, true));
  frames.push(ikeFrame(65.5, RSP, 4500, I_PUB, 31001, skMessage(CHILD, 0x20, 4, 80, 33), true));
  const bytes = pcap(frames);
  const r = analyze([['mixed.pcap', bytes]]);
  const sa = r.ikeSas[0]!;
  const codes = (rep = r) => rep.findings.map((f) => f.code);

  it('keepalives: count, spacing, and a finding when they are further apart than the NAT timeout', () => {
    expect(sa.keepalives).toEqual([
      expect.objectContaining({ from: 'initiator', endpoint: `${I_PUB}:31001`, to: `${RSP}:4500`, count: 3, meanIntervalS: 25, maxIntervalS: 40, minIntervalS: 10, frames: [9, 10, 11] }),
    ]);
    const f = r.findings.find((x) => x.code === 'KEEPALIVE_INTERVAL_TOO_LONG')!;
    expect(f).toMatchObject({ severity: 'warning', frames: [11] });
    expect(f.message).toContain('40.000 s apart, longer than the NAT timeout of 30 s');
    expect(codes(analyze([['mixed.pcap', bytes]], { natTimeoutUs: 60_000_000 }))).not.toContain('KEEPALIVE_INTERVAL_TOO_LONG');
  });

  it('raw ESP (IP protocol 50) from the side behind NAT is an error; its replay and gap are counted', () => {
    expect(r.espSas).toHaveLength(1);
    expect(r.espSas[0]).toMatchObject({ spi: 'c0ffee01', encapsulation: 'none', src: I_PUB, dst: RSP, packets: 4, firstSeq: 1, lastSeq: 5, maxSeq: 5, gaps: 2, replays: 1, ikeSa: 0, direction: 'initiator-to-responder' });
    expect(r.findings.find((x) => x.code === 'ESP_RAW_BEHIND_NAT')).toMatchObject({ severity: 'error', espSpi: 'c0ffee01' });
    expect(r.findings.find((x) => x.code === 'ESP_REPLAY')).toMatchObject({ severity: 'warning', frames: [7] });
    expect(r.findings.find((x) => x.code === 'ESP_SEQUENCE_GAP')).toMatchObject({ severity: 'warning', frames: [8] });
  });

  it('IKE without the marker on 4500 and with it on 500: both still tracked, both errors', () => {
    // Messages, not datagrams: the retransmitted CREATE_CHILD_SA counts once.
    expect(sa.marker).toEqual({ ok: 4, missing: 1, on500: 1 });
    expect(sa.exchanges['INFORMATIONAL request']).toBe(2);
    expect(r.findings.find((x) => x.code === 'MARKER_MISSING')).toMatchObject({ severity: 'error', frames: [12] });
    expect(r.findings.find((x) => x.code === 'MARKER_ON_500')).toMatchObject({ severity: 'error', frames: [13] });
    expect(r.espSas.map((e) => e.spi)).toEqual(['c0ffee01']);
  });

  it('a retransmitted request that was answered: counted, listed, noted', () => {
    expect(sa.retransmissions).toBe(1);
    expect(sa.retransmitted).toEqual([
      { message: 'CREATE_CHILD_SA request', messageId: 4, sender: 'initiator', capture: 0, frames: [14, 15], retransmissions: 1, answered: true, ipFragmented: false },
    ]);
    expect(r.findings.find((x) => x.code === 'RETRANSMISSIONS')).toMatchObject({ severity: 'info', frames: [14, 15] });
    expect(sa.unanswered.map((u) => u.message)).toEqual(['INFORMATIONAL request', 'INFORMATIONAL request']);
    expect(codes()).not.toContain('RETRANSMITTED_UNANSWERED');
  });

  it('the report conforms to the schema; errors come first', () => {
    expect(validate(REPORT_SCHEMA, JSON.parse(JSON.stringify(r)))).toEqual([]);
    expect(r.findings.slice(0, 3).map((f) => f.severity)).toEqual(['error', 'error', 'error']);
    expect(r.summary).toMatchObject({ ikeSas: 1, espSas: 1, errors: 3 });
  });
});

describe('RFC 7383 fragments and MOBIKE NAT-D, with keys', () => {
  const IP_I = '192.0.2.10';
  const IP_R = '192.0.2.20';
  const suite = { encr: 12, keyBits: 128, integ: 2 } as const;
  const skEi = hex('0101010101010101010101010101010a');
  const skEr = hex('0202020202020202020202020202020b');
  const skAi = hex('0303030303030303030303030303030303030303');
  const skAr = hex('0404040404040404040404040404040404040404');
  const keys = new KeyRing(
    parseIkev2DecryptionTable(
      `${I},${R},${Buffer.from(skEi).toString('hex')},${Buffer.from(skEr).toString('hex')},"AES-CBC-128 [RFC3602]",${Buffer.from(skAi).toString('hex')},${Buffer.from(skAr).toString('hex')},"HMAC_SHA1_96 [RFC2404]"\n`,
    ),
  );
  const iv = (n: number) => new Uint8Array(16).fill(n);

  /** An SKF fragment (payload type 53) of message `msgid`, encrypted by the initiator. */
  function skf(msgid: number, num: number, total: number, firstInner: number, plaintext: Uint8Array): Uint8Array {
    const prefix = ikev2(I, R, AUTH, 0x08, msgid, { first: 53, bytes: Uint8Array.of(num === 1 ? firstInner : 0, 0, 0, 0, 0, num, 0, total) });
    return sealSkMessage({ suite, keyE: skEi, keyA: skAi, iv: iv(num), prefix, skOffset: 28, plaintext });
  }

  function sk(exchange: number, flags: number, msgid: number, c: { first: number; bytes: Uint8Array }): Uint8Array {
    const fromI = (flags & 0x08) !== 0;
    const prefix = ikev2(I, R, exchange, flags, msgid, { first: 46, bytes: Uint8Array.of(c.first, 0, 0, 0) });
    return sealSkMessage({ suite, keyE: fromI ? skEi : skEr, keyA: fromI ? skAi : skAr, iv: iv(9), prefix, skOffset: 28, plaintext: c.bytes });
  }

  const inner = chain([
    [35, concat(Uint8Array.of(2, 0, 0, 0), new TextEncoder().encode('ini.test'))],
    [39, concat(Uint8Array.of(2, 0, 0, 0), new Uint8Array(20).fill(0xaa))],
  ]);
  const half = 10;
  const initReq = ikev2(I, ZERO, SA_INIT, 0x08, 0, chain([
    [41, notifyBody(N_SRC, natd(I, ZERO, `${IP_I}:500`))],
    [41, notifyBody(N_DST, natd(I, ZERO, `${IP_R}:500`))],
    [41, notifyBody(16430)],
  ]));
  const initResp = ikev2(I, R, SA_INIT, 0x20, 0, chain([
    [41, notifyBody(N_SRC, natd(I, R, `${IP_R}:500`))],
    [41, notifyBody(N_DST, natd(I, R, `${IP_I}:500`))],
    [41, notifyBody(16430)],
  ]));
  // MOBIKE: the initiator moved behind a NAT and announces it in an encrypted INFORMATIONAL.
  const update = sk(INFO, 0x08, 2, chain([
    [41, notifyBody(16400)],
    [41, notifyBody(N_SRC, natd(I, R, '10.9.9.9:4500'))],
    [41, notifyBody(N_DST, natd(I, R, `${IP_R}:4500`))],
  ]));
  const frames: Frame[] = [
    ikeFrame(0, IP_I, 500, IP_R, 500, initReq),
    ikeFrame(0.01, IP_R, 500, IP_I, 500, initResp),
    ikeFrame(0.02, IP_I, 500, IP_R, 500, skf(1, 1, 2, inner.first, inner.bytes.subarray(0, half))),
    ikeFrame(0.03, IP_I, 500, IP_R, 500, skf(1, 2, 2, inner.first, inner.bytes.subarray(half))),
    ikeFrame(5, '198.18.0.7', 40000, IP_R, 4500, update, true),
  ];

  it('counts the fragments without keys, and the NAT-D of the encrypted message stays unseen', () => {
    const r = analyze([['skf.pcap', pcap(frames)]]);
    const sa = r.ikeSas[0]!;
    expect(sa.ikeFragmentation).toEqual({ supportedBy: ['initiator', 'responder'], messages: 1, fragments: 2, reassembled: 0, incomplete: 0 });
    expect(sa.natDetection.hashes).toHaveLength(4);
    expect(sa.natDetection.initiatorBehindNat).toBe(false);
    expect(sa.decryption).toBeNull();
  });

  it('with keys: reassembles IDi and AUTH from two SKF fragments, and the MOBIKE NAT-D counts for the verdict', () => {
    const r = analyze([['skf.pcap', pcap(frames)]], { keys });
    const sa = r.ikeSas[0]!;
    expect(sa.ikeFragmentation).toMatchObject({ messages: 1, fragments: 2, reassembled: 1, incomplete: 0 });
    expect(sa.decryptedMessages).toEqual([
      { capture: 0, frame: 4, exchange: 'IKE_AUTH', messageId: 1, response: false, sender: 'initiator', integrity: 'ok', payloads: ['IDi', 'AUTH'], fragments: 2 },
      { capture: 0, frame: 5, exchange: 'INFORMATIONAL', messageId: 2, response: false, sender: 'initiator', integrity: 'ok', payloads: ['N(UPDATE_SA_ADDRESSES)', 'N(NAT_DETECTION_SOURCE_IP)', 'N(NAT_DETECTION_DESTINATION_IP)'] },
    ]);
    expect(sa.ids.initiator).toBe('ini.test');
    const enc = sa.natDetection.hashes.filter((h) => h.encrypted);
    expect(enc.map((h) => [h.message, h.kind, h.status])).toEqual([
      ['INFORMATIONAL request', 'source', 'unverified'],
      ['INFORMATIONAL request', 'destination', 'match'],
    ]);
    expect(sa.natDetection.initiatorBehindNat).toBe(true);
    expect(sa.decryption).toEqual({ decrypted: 2, integrityFailed: 0, failed: 0, noKey: 0 });
  });

  it('a missing fragment leaves the message incomplete', () => {
    const r = analyze([['skf-lost.pcap', pcap([frames[0]!, frames[1]!, frames[2]!])]], { keys });
    expect(r.ikeSas[0]!.ikeFragmentation).toMatchObject({ messages: 1, fragments: 1, reassembled: 0, incomplete: 1 });
    expect(r.findings.map((f) => f.code)).toContain('IKE_FRAGMENTS_INCOMPLETE');
  });
});

describe('a request retransmitted and never answered', () => {
  it('is listed with its frames and reported as an error', () => {
    const req = saInit()[0]!;
    const r = analyze([['retx.pcap', pcap([req, { ...req, t: 1 }, { ...req, t: 3 }])]]);
    const sa = r.ikeSas[0]!;
    expect([sa.messages, sa.retransmissions]).toEqual([1, 2]);
    expect(sa.unanswered).toEqual([
      { message: 'IKE_SA_INIT request', messageId: 0, sender: 'initiator', capture: 0, frames: [1, 2, 3], retransmissions: 2, answered: false, ipFragmented: false },
    ]);
    const f = r.findings.find((x) => x.code === 'RETRANSMITTED_UNANSWERED')!;
    expect(f).toMatchObject({ severity: 'error', frames: [1, 2, 3] });
    expect(f.message).toContain('retransmitted 2 time(s) and never answered');
  });

  it('the same datagram in two captures (both sides of a NAT) is a copy, not a retransmission', () => {
    const req = saInit()[0]!;
    const r = analyze([
      ['a.pcap', pcap([req])],
      ['b.pcap', pcap([req])],
    ]);
    expect([r.ikeSas.length, r.ikeSas[0]!.retransmissions, r.ikeSas[0]!.messages]).toEqual([1, 0, 1]);
  });
});
