/**
 * Lab 10 (docs/labs/10-real-capture.md): the real strongSwan capture in pcaps/. Runs the
 * lab's analyze, decode, verify and tshark steps on pcaps/strongswan-nat-*.pcap and
 * proves every answer of the key from `analyze --json` (both captures, with the keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisReport } from '../../../src/analysis/report.ts';
import { readLab, type LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';
import { answerText, decodeJson, expectKeyChecked, expectStep, removeDir, seconds, tempDir, type DecodedFrame } from './lab-run.ts';

const INSIDE = join(ROOT, 'pcaps/strongswan-nat-inside.pcap');
const OUTSIDE = join(ROOT, 'pcaps/strongswan-nat-outside.pcap');
const KEYS = join(ROOT, 'pcaps/strongswan-nat-wireshark');
const EXPECT = join(ROOT, 'fixtures/labs/grading/10-real-capture.expect.yaml');
const HAVE_TSHARK = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let both: AnalysisReport;
let outsideFrames: DecodedFrame[];
let dir: string;

beforeAll(async () => {
  lab = readLab('10-real-capture.md');
  const r = await runCli(['analyze', INSIDE, OUTSIDE, '--keys', KEYS, '--json']);
  expect([r.code, r.err]).toEqual([0, '']);
  both = JSON.parse(r.out) as AnalysisReport;
  outsideFrames = await decodeJson(OUTSIDE);
  dir = tempDir('lab10');
});
afterAll(() => removeDir(dir));

const sa = () => both.ikeSas[0]!;
const hash = (capture: number, sender: string, kind: string) => sa().natDetection.hashes.find((h) => h.capture === capture && h.sender === sender && h.kind === kind)!;
/** Seconds from the first frame of the outside capture. */
const fromStart = (iso: string) => Date.parse(iso) * 1000 + Number(/\.\d{3}(\d{3})Z$/.exec(iso)?.[1] ?? 0) - outsideFrames[0]!.timeUs;

describe('lab 10: the steps', () => {
  it('gives the commands the test runs', () => {
    expectStep(lab, 'npx natt-sim analyze pcaps/strongswan-nat-outside.pcap --explain');
    expectStep(lab, 'npx natt-sim analyze pcaps/strongswan-nat-outside.pcap --diagram /tmp/lab10.svg');
    expectStep(lab, 'npx natt-sim analyze pcaps/strongswan-nat-inside.pcap pcaps/strongswan-nat-outside.pcap --keys pcaps/strongswan-nat-wireshark --json > /tmp/lab10.json');
    expectStep(lab, 'npx natt-sim decode pcaps/strongswan-nat-outside.pcap -v');
    expectStep(lab, 'npx natt-sim verify pcaps/strongswan-nat-outside.pcap --expect fixtures/labs/grading/10-real-capture.expect.yaml --keys pcaps/strongswan-nat-wireshark');
  });

  it('analyze --explain and --diagram work on the public side alone (step 1)', async () => {
    const r = await runCli(['analyze', OUTSIDE, '--explain']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('NAT detection result: the initiator is behind NAT, the responder is not.');
    const svg = join(dir, 'lab10.svg');
    const d = await runCli(['analyze', OUTSIDE, '--diagram', svg]);
    expect(d.code).toBe(0);
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<svg|^<\?xml/);
    expect(text).toContain('IKE_AUTH');
  });

  it('decode -v prints the NAT-D hash values (step 3)', async () => {
    const r = await runCli(['decode', OUTSIDE, '-v']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(hash(1, 'initiator', 'source').hash);
  });

  it.skipIf(!HAVE_TSHARK)('tshark decrypts the ESP with the key files (step 4)', () => {
    expectStep(lab, "WIRESHARK_CONFIG_DIR=pcaps/strongswan-nat-wireshark tshark -r pcaps/strongswan-nat-outside.pcap -Y 'esp && icmp'");
    const r = spawnSync('tshark', ['-r', OUTSIDE, '-Y', 'esp && icmp', '-T', 'fields', '-e', 'esp.spi', '-e', 'ip.src', '-e', 'icmp.type'], {
      encoding: 'utf8',
      env: { ...process.env, WIRESHARK_CONFIG_DIR: KEYS },
    });
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    expect(rows).toHaveLength(20);
    expect(rows.filter((x) => x[0] === '0x33edbb96' && x[1] === '198.51.100.1,10.77.10.1' && x[2] === '8')).toHaveLength(10);
    expect(rows.filter((x) => x[0] === '0xd80bade7' && x[2] === '0')).toHaveLength(10);
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8']));
});

describe('lab 10: the answer key', () => {
  it('A1: the initiator is behind NAT; the mismatching hash and what it covers', () => {
    const a = answer('A1');
    expect(sa().natDetection).toMatchObject({ initiatorBehindNat: true, responderBehindNat: false, fake: false });
    expect(a).toContain('The initiator is behind NAT, the responder is not.');
    const d = hash(0, 'responder', 'destination');
    expect(d.status).toBe('mismatch');
    expect(d.packet.dst).toBe('10.77.0.2:500');
    expect(a).toContain(`NAT_DETECTION_DESTINATION_IP \`${d.hash}\``);
    expect(a).toContain(`does not match the packet's destination ${d.packet.dst}: it covers \`${d.matchedEndpoint}\``);
    const s = hash(1, 'initiator', 'source');
    expect(a).toContain(`SOURCE hash \`${s.hash}\` is \`${s.status}\`: it covers \`${s.matchedEndpoint}\``);
  });

  it('A2: the public address:port for 500 and 4500', () => {
    const a = answer('A2');
    const [, pub500] = sa().initiatorEndpoints.on500;
    const [, pub4500] = sa().initiatorEndpoints.on4500;
    expect(sa().initiatorEndpoints.on500[0]).toBe('10.77.0.2:500');
    expect(sa().initiatorEndpoints.on4500[0]).toBe('10.77.0.2:4500');
    expect(a).toContain(`Port 500 became \`${pub500}\` and port 4500 became \`${pub4500}\``);
  });

  it('A3: the float at IKE_AUTH, and the markers', () => {
    const a = answer('A3');
    const f = sa().firstMessageOn4500Detail!;
    expect(a).toContain(`At the \`${f.exchange}\` request, frame \`${f.frame}\``);
    expect(f.response).toBe(false);
    const m = sa().marker;
    expect(a).toContain(`counts \`${m.ok}\` markers`);
    expect(a).toContain(`\`${m.missing}\` missing and \`${m.on500}\` on port 500`);
  });

  it('A4: the keepalives and their interval', () => {
    const a = answer('A4');
    const k = sa().keepalives.find((x) => x.capture === 1)!;
    expect(k.from).toBe('initiator');
    expect(sa().keepalives.every((x) => x.from === 'initiator')).toBe(true);
    expect(a).toContain(`\`${k.count}\` keepalives, every \`${k.meanIntervalS!.toFixed(3)} s\` on average`);
    expect(a).toContain(`largest gap \`${k.maxIntervalS!.toFixed(3)} s\``);
    expect(a).toContain(`The first leaves \`${seconds(fromStart(k.firstTime))}\` after the first frame`);
    const lastEsp = Math.max(...both.espSas.filter((e) => e.capture === 1).map((e) => fromStart(e.lastTime)));
    expect(fromStart(k.firstTime)).toBeGreaterThan(lastEsp);
  });

  it('A5: the SPIs, their direction, counts, sequence numbers, and who chose them', () => {
    const a = answer('A5');
    const out = both.espSas.filter((e) => e.capture === 1);
    expect(out).toHaveLength(2);
    const i2r = out.find((e) => e.direction === 'initiator-to-responder')!;
    const r2i = out.find((e) => e.direction === 'responder-to-initiator')!;
    expect(a).toContain(`\`${i2r.spi}\`, initiator → responder, and \`${r2i.spi}\`, responder → initiator`);
    for (const e of out) {
      expect([e.packets, e.firstSeq, e.lastSeq, e.gaps]).toEqual([i2r.packets, i2r.firstSeq, i2r.lastSeq, 0]);
    }
    expect(a).toContain(`\`${i2r.packets}\` packets each, sequence numbers \`${i2r.firstSeq}–${i2r.lastSeq}\`, no gaps`);
    const child = sa().childSas[0]!;
    expect(child.responderSpi).toBe(i2r.spi);
    expect(child.initiatorSpi).toBe(r2i.spi);
    expect(a).toContain(`\`${child.responderSpi}\` is the responder's, \`${child.initiatorSpi}\` the initiator's`);
  });

  it('A6: the decrypted traffic, the identities and the algorithm', () => {
    const a = answer('A6');
    const i2r = both.espSas.find((e) => e.capture === 1 && e.direction === 'initiator-to-responder')!;
    const [inner, n] = Object.entries(i2r.decrypted!.inner)[0]!;
    expect(i2r.decrypted!.ok).toBe(n);
    expect(a).toContain(`\`${inner}\` ×${n}`);
    expect(a).toContain(`\`${sa().ids!.initiator}\` and \`${sa().ids!.responder}\``);
    const child = sa().childSas[0]!;
    expect(a).toContain(`\`${child.proposal}\` between \`${child.tsi[0]}\` and \`${child.tsr[0]}\``);
  });

  it('A7: an INFORMATIONAL exchange with a Delete ends it', () => {
    const a = answer('A7');
    const del = sa().decryptedMessages.find((m) => m.capture === 1 && m.exchange === 'INFORMATIONAL' && !m.response)!;
    expect(del.payloads).toEqual(['D']);
    expect(del.sender).toBe('initiator');
    const f = outsideFrames.find((x) => x.frame === del.frame)!;
    const reply = outsideFrames.find((x) => x.frame === del.frame + 1)!;
    expect(reply.ike!.response).toBe(true);
    expect(a).toContain(`at \`${seconds(f.timeUs - outsideFrames[0]!.timeUs)}\` (frame \`${del.frame}\`)`);
    expect(a).toContain(`answered at ${seconds(reply.timeUs - outsideFrames[0]!.timeUs)}`);
  });

  it('A8: verify holds with the keys, one failure without (step 5)', async () => {
    const a = answer('A8');
    const ok = await runCli(['verify', OUTSIDE, '--expect', EXPECT, '--keys', KEYS]);
    expect(ok.code).toBe(0);
    const n = /all (\d+) assertion\(s\) hold/.exec(ok.out)![1]!;
    expect(a).toContain(`\`${n}\` assertions, all hold (exit 0)`);
    const bad = await runCli(['verify', OUTSIDE, '--expect', EXPECT]);
    expect(bad.code).toBe(1);
    const lines = bad.out.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const line = /10-real-capture\.expect\.yaml:(\d+): espSas: expected some element with \{"decrypted"/.exec(lines[0]!);
    expect(line).not.toBeNull();
    expect(a).toContain(`exit \`${bad.code}\`, one failure line naming line \`${line![1]}\` of the file`);
  });
});
