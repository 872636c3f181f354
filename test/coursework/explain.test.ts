/**
 * `analyze --explain`: the numbered narrative for the strongswan-lab a-nat-keepalive
 * captures (initiator 10.77.0.2 behind a MASQUERADE NAT seen as 198.51.100.1,
 * responder 198.51.100.2; manifest.json in the capture directory lists the hashes,
 * the NAT's ports 29396/26329 and the keepalive times these lines must state).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainCaptures, mergeSteps, type NarrativeStep } from '../../src/analysis/explain.ts';
import { renderNarrative } from '../../src/cli/explain.ts';
import { analyse, captureEntries, INSIDE, OUTSIDE, ROOT, runCli } from './support.ts';

const stepLines = (text: string) => text.split('\n').filter((l) => /^ ?\d+\. /.test(l));

/** The detail lines under step `n` (1-based). */
function details(text: string, n: number): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${String(n).padStart(2)}. `));
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && /^ {6}/.test(lines[i]!); i++) out.push(lines[i]!.trim());
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-explain-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analyze --explain, outside.pcap (the public side of the NAT)', () => {
  let out: string;
  beforeAll(async () => {
    const r = await runCli(['analyze', OUTSIDE, '--explain']);
    expect([r.code, r.err]).toEqual([0, '']);
    out = r.out;
  });

  it('starts with what was read', () => {
    expect(out.split('\n').slice(0, 5)).toEqual([
      'What happened in outside.pcap',
      'capture 0: outside.pcap: 35 frames (6 IKE, 20 ESP, 5 NAT-keepalives) over 35.150 s',
      'IKE SA #0: IKEv2, SPIi 8391f754f1670e3d, SPIr 5bc1c325f6ce53e8; initiator 198.51.100.1:29396, responder 198.51.100.2:500',
      'Times are seconds from the first frame.',
      '',
    ]);
  });

  it('numbers the steps in time order: exchanges, each NAT-D hash, the verdict, the float, ESP, keepalives, findings', () => {
    expect(stepLines(out)).toEqual([
      ' 1. [0.000 s] initiator: IKE_SA_INIT request, initiator → responder: 198.51.100.1:29396 → 198.51.100.2:500 (frame 1).',
      " 2. [0.000 s] initiator: NAT_DETECTION_SOURCE_IP = 95c3541c150ee9de466e89125e3493cf13429eb0: the initiator's SHA-1 over SPIi | SPIr | IP | port of the address:port it sends from.",
      " 3. [0.000 s] initiator: NAT_DETECTION_DESTINATION_IP = 24291d0d5f31435320163b23cdd24ba8296c1e47: the initiator's SHA-1 over SPIi | SPIr | IP | port of the address:port it sends to.",
      ' 4. [0.007 s] responder: IKE_SA_INIT response, responder → initiator: 198.51.100.2:500 → 198.51.100.1:29396 (frame 2).',
      " 5. [0.007 s] responder: NAT_DETECTION_SOURCE_IP = a7740a38f63cf4de77a23ccbf4947cdf441f4a68: the responder's SHA-1 over SPIi | SPIr | IP | port of the address:port it sends from.",
      " 6. [0.007 s] responder: NAT_DETECTION_DESTINATION_IP = 9a8f8df0470e774c5f2a1714451228e85bb12b83: the responder's SHA-1 over SPIi | SPIr | IP | port of the address:port it sends to.",
      ' 7. [0.007 s] both peers: NAT detection result: the initiator is behind NAT, the responder is not.',
      ' 8. [0.014 s] initiator: IKE_AUTH request, initiator → responder: 198.51.100.1:26329 → 198.51.100.2:4500 (frame 3).',
      ' 9. [0.014 s] initiator: The float: the initiator sends IKE_AUTH request on the NAT-T port pair, 198.51.100.1:26329 → 198.51.100.2:4500 (frame 3).',
      '10. [0.020 s] responder: IKE_AUTH response, responder → initiator: 198.51.100.2:4500 → 198.51.100.1:26329 (frame 4).',
      '11. [0.277 s] initiator: 10 ESP packets, SPI 33edbb96, sequence numbers 1–10, initiator → responder, in UDP (RFC 3948 §2.1): 198.51.100.1:26329 → 198.51.100.2:4500 from 0.277 s to 9.293 s.',
      '12. [0.278 s] responder: 10 ESP packets, SPI d80bade7, sequence numbers 1–10, responder → initiator, in UDP (RFC 3948 §2.1): 198.51.100.2:4500 → 198.51.100.1:26329 from 0.278 s to 9.294 s.',
      '13. [14.013 s] initiator: 5 NAT-keepalives from the initiator, 198.51.100.1:26329 → 198.51.100.2:4500: the first at 14.013 s, then every 5.002 s on average (largest gap 5.003 s).',
      '14. [35.147 s] initiator: INFORMATIONAL request, initiator → responder: 198.51.100.1:26329 → 198.51.100.2:4500 (frame 34).',
      '15. [35.150 s] responder: INFORMATIONAL response, responder → initiator: 198.51.100.2:4500 → 198.51.100.1:26329 (frame 35).',
      '16. analysis: Findings: 0 errors, 0 warnings, 1 note.',
    ]);
  });

  it("shows each hash's inputs, the comparison with the observed address, and the pipeline to check it", () => {
    expect(details(out, 2)).toEqual([
      "Compared with the packet's source 198.51.100.1:29396: SHA-1(8391f754f1670e3d | 0000000000000000 | c6336401 | 72d4) = 5eebcc84c45460f8ef8f861a941427d81c2958a9, no match (unverified).",
      "The initiator's SOURCE hash does not match the packet's source 198.51.100.1:29396, and its port 29396 is neither 500 nor 4500, so a NAT rewrote it: the initiator is behind NAT; the private address the hash covers is not in the capture.",
      "Check by hand: printf '8391f754f1670e3d0000000000000000c633640172d4' | xxd -r -p | sha1sum",
    ]);
    expect(details(out, 6)).toEqual([
      "Compared with the packet's destination 198.51.100.1:29396: SHA-1(8391f754f1670e3d | 5bc1c325f6ce53e8 | c6336401 | 72d4) = 9a8f8df0470e774c5f2a1714451228e85bb12b83, a match.",
      "The responder's DESTINATION hash covers 198.51.100.1:29396, the packet's destination: the initiator's address arrived as the responder addressed it.",
      "Check by hand: printf '8391f754f1670e3d5bc1c325f6ce53e8c633640172d4' | xxd -r -p | sha1sum",
    ]);
  });

  it('says what each peer concludes and what follows', () => {
    expect(details(out, 7)).toEqual([
      'The responder compares the initiator\'s SOURCE hash with the source address:port the packet arrived from; they differ, so the initiator is behind NAT (strongSwan logs "remote host is behind NAT").',
      'The initiator compares the responder\'s DESTINATION hash with the address:port the packet arrived at, its own; they differ because its NAT rewrote that address, so it knows it is behind NAT itself (strongSwan: "local host is behind NAT, sending keep alives").',
      'What follows (RFC 7296 §2.23, RFC 3948): IKE moves to UDP port 4500, ESP travels inside UDP on the same ports, and the initiator, being behind the NAT, sends NAT-keepalives.',
    ]);
  });

  it("explains the float with the marker count and the NAT's second mapping", () => {
    expect(details(out, 9)).toEqual([
      'IKE leaves port 500 once NAT is detected (RFC 7296 §2.23), so that IKE and the ESP-in-UDP traffic use one NAT mapping and the peers can tell IKE from ESP by the marker.',
      'On port 4500 every IKE message starts with four zero bytes, the non-ESP marker (RFC 3948 §2.2); an ESP packet starts with its non-zero SPI there. 4 IKE messages on port 4500 carried the non-ESP marker.',
      "The NAT gave the new flow its own mapping: the initiator's port 500 appeared as 198.51.100.1:29396 and its port 4500 appears as 198.51.100.1:26329. The peer answers to whatever address:port the message came from.",
    ]);
  });

  it('says why ESP is in UDP', () => {
    expect(details(out, 11)).toEqual([
      'Encapsulated because NAT was detected: raw ESP (IP protocol 50) carries no ports, so a NAT that maps many hosts onto one address (PAT) cannot tell which host a returning ESP packet belongs to. In UDP it rides the same mapping as IKE on port 4500.',
    ]);
  });

  it('says who sends keepalives, why they start when they do, and how they compare with the NAT timeout', () => {
    expect(details(out, 13)).toEqual([
      'A NAT-keepalive is a UDP datagram holding the single byte 0xFF on the NAT-T port pair (RFC 3948 §2.3); the receiver drops it. It exists only to keep the NAT mapping of the flow alive.',
      "Only a peer behind NAT needs them, since the mapping to keep alive is its own NAT's (RFC 3948 §4): the initiator is behind NAT; the responder is not and sends none.",
      "Keepalives fill silences; they are not sent while other traffic flows: the initiator's last packet on this flow before them was ESP at 9.293 s, 4.720 s before the first keepalive.",
      'The NAT mapping timeout assumed here is 30 s (--nat-timeout): the largest gap, 5.003 s, is shorter, so the mapping stays alive.',
    ]);
  });

  it('lists the findings last', () => {
    expect(details(out, 16)).toEqual(['info NAT_DETECTED: IKEv2 SA 8391f754f1670e3d: NAT-D shows the initiator (198.51.100.1:29396) behind NAT.']);
  });

  it('with --nat-timeout shorter than the keepalive gap, says the mapping can expire', async () => {
    const r = await runCli(['analyze', OUTSIDE, '--explain', '--nat-timeout', '4s']);
    expect(r.code).toBe(0);
    expect(details(r.out, 13)).toContain(
      'The NAT mapping timeout assumed here is 4 s (--nat-timeout): the largest gap, 5.003 s, is longer, so the mapping can expire between keepalives (finding KEEPALIVE_INTERVAL_TOO_LONG).',
    );
  });

  it('with keys, adds the decrypted payloads and who chose each ESP SPI', async () => {
    const r = await runCli(['analyze', join(ROOT, 'pcaps/strongswan-nat-outside.pcap'), '--keys', join(ROOT, 'pcaps/strongswan-nat-wireshark'), '--explain']);
    expect(r.code).toBe(0);
    expect(details(r.out, 8)).toContain('Decrypted: IDi N(INITIAL_CONTACT) IDr AUTH SA TSi TSr N(MULTIPLE_AUTH_SUPPORTED) N(EAP_ONLY_AUTHENTICATION) N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED).');
    expect(details(r.out, 11)).toContain('The SPI was chosen by the responder in IKE_AUTH (message 1): the receiver picks the SPI it wants to see on its inbound packets.');
    expect(details(r.out, 14)).toContain('Decrypted: D.');
  });
});

describe('analyze --explain, inside.pcap + outside.pcap (both sides of the NAT)', () => {
  let out: string;
  beforeAll(async () => {
    const r = await runCli(['analyze', INSIDE, OUTSIDE, '--explain']);
    expect([r.code, r.err]).toEqual([0, '']);
    out = r.out;
  });

  it('tells each translation once, as the NAT that made it', () => {
    const nat = stepLines(out).filter((l) => / NAT: /.test(l));
    expect(nat).toEqual([
      ' 2. [0.000 s] NAT: The NAT in front of the initiator rewrote the source 10.77.0.2:500 to 198.51.100.1:29396 (seen in inside.pcap, then outside.pcap).',
      '10. [0.014 s] NAT: The NAT in front of the initiator rewrote the source 10.77.0.2:4500 to 198.51.100.1:26329 (seen in inside.pcap, then outside.pcap).',
    ]);
    expect(details(out, 2)).toEqual([
      'From now on the NAT holds the mapping 198.51.100.1:29396 ↔ 10.77.0.2:500; replies to 198.51.100.1:29396 are sent on to 10.77.0.2:500 while the mapping lasts.',
      'The port changed too (500 → 29396): a NAT that shares one public address among many hosts (PAT, NAPT) must pick a free port for each flow.',
    ]);
  });

  it("compares one hash in both captures: the initiator's SOURCE hash matches inside and is translated outside", () => {
    expect(stepLines(out)[2]).toBe(
      " 3. [0.000 s] initiator: NAT_DETECTION_SOURCE_IP = 95c3541c150ee9de466e89125e3493cf13429eb0: the initiator's SHA-1 over SPIi | SPIr | IP | port of the address:port it sends from.",
    );
    expect(details(out, 3)).toEqual([
      "In inside.pcap, compared with the packet's source 10.77.0.2:500: SHA-1(8391f754f1670e3d | 0000000000000000 | 0a4d0002 | 01f4) = 95c3541c150ee9de466e89125e3493cf13429eb0, a match.",
      "The initiator's SOURCE hash covers 10.77.0.2:500, the packet's source: not translated on the way to this capture.",
      "Check by hand: printf '8391f754f1670e3d00000000000000000a4d000201f4' | xxd -r -p | sha1sum",
      "In outside.pcap, compared with the packet's source 198.51.100.1:29396: SHA-1(8391f754f1670e3d | 0000000000000000 | c6336401 | 72d4) = 5eebcc84c45460f8ef8f861a941427d81c2958a9, no match (translated).",
      "The initiator's SOURCE hash covers 10.77.0.2:500 (seen in capture 0), but the packet came from 198.51.100.1:29396: a NAT translated the initiator, which is behind NAT.",
      "Check by hand: printf '8391f754f1670e3d0000000000000000c633640172d4' | xxd -r -p | sha1sum",
      'The carried hash is the one over 10.77.0.2:500.',
    ]);
  });

  it("shows the responder's DESTINATION hash failing inside the NAT: that is how the initiator learns it is behind one", () => {
    expect(details(out, 7).slice(0, 4)).toEqual([
      "In inside.pcap, compared with the packet's destination 10.77.0.2:500: SHA-1(8391f754f1670e3d | 5bc1c325f6ce53e8 | 0a4d0002 | 01f4) = da66893a3cd4ff4508502995b3240f91a9e230f0, no match (mismatch).",
      "The responder's DESTINATION hash covers 198.51.100.1:29396 (the initiator's address in capture 1), not the packet's destination 10.77.0.2:500: the initiator's address was translated on the way, so the initiator is behind NAT.",
      "Check by hand: printf '8391f754f1670e3d5bc1c325f6ce53e80a4d000201f4' | xxd -r -p | sha1sum",
      'The carried hash is the one over 198.51.100.1:29396.',
    ]);
  });

  it('gives ESP and keepalives per capture', () => {
    const lines = stepLines(out);
    expect(lines).toContain(
      '13. [0.278 s] initiator: 10 ESP packets, SPI 33edbb96, sequence numbers 1–10, initiator → responder, in UDP (RFC 3948 §2.1): 10.77.0.2:4500 → 198.51.100.2:4500 in inside.pcap (10 packets), 198.51.100.1:26329 → 198.51.100.2:4500 in outside.pcap (10 packets) from 0.278 s to 9.293 s.',
    );
    expect(lines).toContain(
      '15. [14.013 s] initiator: 5 NAT-keepalives from the initiator, 10.77.0.2:4500 → 198.51.100.2:4500 in inside.pcap, 198.51.100.1:26329 → 198.51.100.2:4500 in outside.pcap: the first at 14.013 s, then every 5.002 s on average (largest gap 5.003 s).',
    );
    expect(lines).toHaveLength(18);
  });
});

describe('analyze --explain, IKEv1 (ISAKMP_sa_setup.pcap)', () => {
  it('names the NAT-D payloads by their draft number and the cookies as hash inputs', async () => {
    const r = await runCli(['analyze', join(ROOT, '../shared/captures/tcpdump/ISAKMP_sa_setup.pcap'), '--explain']);
    expect(r.code).toBe(0);
    expect(stepLines(r.out)).toContain(
      " 4. [0.072 s] initiator: NAT-D (15) = d5664a6fcbc7d769f693d4d83ce125b1415827ae: the initiator's SHA-1 over CKY-I | CKY-R | IP | port of the address:port it sends to.",
    );
    expect(details(r.out, 4)[0]).toBe(
      "Compared with the packet's destination 10.0.0.2:500: SHA-1(cf02326f14a95b93 | 18a109f89219e8df | 0a000002 | 01f4) = d5664a6fcbc7d769f693d4d83ce125b1415827ae, a match.",
    );
    expect(stepLines(r.out)).toContain(' 9. [0.108 s] both peers: NAT detection result: no NAT between the peers; every hash matches the address it was sent with.');
  });
});

describe('explain: the pure builder and bad input', () => {
  // Step times are frame times relative to frame 1 (tshark frame.time_relative: 2 0.006528, 3 0.014354,
  // 4 0.019845, 5 0.277492, 27 14.012867, 34 35.147357, 35 35.149690).
  it('merges steps from another source (a simulation) by time, untimed steps last', async () => {
    const { report, timeline } = analyse([{ name: 'outside.pcap', entries: await captureEntries(OUTSIDE) }]);
    const extra: NarrativeStep[] = [
      { time: 3_000, actor: 'home-router', text: 'NAT mapping 10.77.0.2:500 ↦ 198.51.100.1:29396 created.', detail: [] },
      { time: null, actor: 'lab', text: 'The run ended.', detail: [] },
    ];
    const n = explainCaptures(report, timeline, { extraSteps: extra });
    expect(n.steps.map((s) => [s.time, s.actor])).toEqual([
      [0, 'initiator'],
      [0, 'initiator'],
      [0, 'initiator'],
      [3_000, 'home-router'],
      [6_528, 'responder'],
      [6_528, 'responder'],
      [6_528, 'responder'],
      [6_528, 'both peers'],
      [14_354, 'initiator'],
      [14_354, 'initiator'],
      [19_845, 'responder'],
      [277_492, 'initiator'],
      [278_236, 'responder'],
      [14_012_867, 'initiator'],
      [35_147_357, 'initiator'],
      [35_149_690, 'responder'],
      [null, 'analysis'],
      [null, 'lab'],
    ]);
    expect(mergeSteps([{ time: 5, actor: 'a', text: 'x', detail: [] }], [{ time: 5, actor: 'b', text: 'y', detail: [] }]).map((s) => s.actor)).toEqual(['a', 'b']);
    expect(renderNarrative(n).split('\n')).toContain(' 4. [0.003 s] home-router: NAT mapping 10.77.0.2:500 ↦ 198.51.100.1:29396 created.');
  });

  it('--explain with --json is one line and exit 2', async () => {
    const r = await runCli(['analyze', OUTSIDE, '--explain', '--json']);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toBe('natt-sim: --explain and --json exclude each other: the narrative is text; the JSON report has the same facts\n');
  });

  it('a capture cut mid-record: the narrative of what was read, then one line and exit 2', async () => {
    const bytes = readFileSync(OUTSIDE);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    const r = await runCli(['analyze', cut, '--explain']);
    expect(r.code).toBe(2);
    expect(r.out.split('\n')[0]).toBe('What happened in cut.pcap');
    expect(stepLines(r.out)[0]).toBe(' 1. [0.000 s] initiator: IKE_SA_INIT request, initiator → responder: 198.51.100.1:29396 → 198.51.100.2:500 (frame 1).');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^natt-sim: .*cut\.pcap: /);
  });
});
