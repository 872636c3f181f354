/**
 * Lab 08 (docs/labs/08-double-and-twice-nat.md): two PATs in series on alice's side, a
 * port-forwarding PAT on bob's. Runs the scenario and the steps and proves every
 * answer of the key from the NAT tables, the peers' reports and the captures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { LabDoc } from '../lab-key.ts';
import { runCli } from '../support.ts';
import { answerText, decodeJson, expectKeyChecked, expectLabPasses, expectStep, removeDir, seconds, setUpLab, type LabRun } from './lab-run.ts';

const NAME = '08-double-and-twice-nat';

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let run: LabRun;
let dir: string;
let out: string;

beforeAll(async () => {
  ({ lab, run, dir, out } = await setUpLab(NAME));
});
afterAll(() => removeDir(dir));

/** The NAT's mapping of an internal endpoint, as "internal → external". */
function translation(nat: string, internal: string): string {
  const m = run.nat(nat).mappings.find((x) => x.internal === internal);
  expect(m, `${nat} holds a mapping of ${internal}`).toBeDefined();
  return `${m!.internal} → ${m!.external}`;
}
const external = (nat: string, internal: string) => run.nat(nat).mappings.find((x) => x.internal === internal)!.external;

describe('lab 08: the scenario and the steps', () => {
  it('passes every expectation', () => {
    expectLabPasses(lab, run, NAME);
    expectStep(lab, 'npx natt-sim analyze /tmp/lab08/home-inside.pcapng /tmp/lab08/building-outside.pcapng /tmp/lab08/b-inside.pcapng --explain');
  });

  it('the first IKE_SA_INIT request carries the addresses the key gives on each side of each NAT (step 3)', async () => {
    const first = async (tap: string) => (await decodeJson(join(out, `${tap}.pcapng`))).find((f) => f.ike?.exchange === 'IKE_SA_INIT' && !f.ike.response)!;
    const at = async (tap: string) => {
      const f = await first(tap);
      return `${f.src}:${f.srcPort} > ${f.dst}:${f.dstPort}`;
    };
    expect(await at('home-inside')).toBe('10.1.0.2:500 > 198.51.100.2:500');
    expect(await at('building-inside')).toBe(`${external('home', '10.1.0.2:500')} > 198.51.100.2:500`);
    expect(await at('building-outside')).toBe(`${external('building', external('home', '10.1.0.2:500'))} > 198.51.100.2:500`);
    expect(await at('b-inside')).toBe(`${external('building', external('home', '10.1.0.2:500'))} > 10.2.0.2:500`);
  });

  it('the analysis of three captures finds both peers behind NAT (step 4)', async () => {
    const r = await runCli(['analyze', join(out, 'home-inside.pcapng'), join(out, 'building-outside.pcapng'), join(out, 'b-inside.pcapng'), '--explain']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('NAT detection result: both peers are behind NAT.');
    expect(r.out).toContain("The initiator's SOURCE hash covers 10.1.0.2:500 (seen in capture 0), but the packet came from 203.0.113.2:40000");
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']));
});

describe('lab 08: the answer key', () => {
  it('A1: the IKE socket, hop by hop', () => {
    const a = answer('A1');
    const hop1 = translation('home', '10.1.0.2:500');
    const mid = external('home', '10.1.0.2:500');
    const hop2 = translation('building', mid);
    expect(a).toContain(`home: \`${hop1}\``);
    expect(a).toContain(`building: \`${hop2}\``);
    expect(run.nat('home').events.find((e) => e.mapping?.includes('10.1.0.2:500'))!.comment).toContain(hop1);
    const seen = run.peer('bob').natDetection!;
    expect(seen).toContain(`SHA-1(SPIi | SPIr | ${external('building', mid)})`);
    expect(a).toContain(`receives it from \`${external('building', mid)}\``);
  });

  it('A2: the NAT-T socket, hop by hop', () => {
    const a = answer('A2');
    const mid = external('home', '10.1.0.2:4500');
    expect(a).toContain(`home: \`${translation('home', '10.1.0.2:4500')}\``);
    expect(a).toContain(`building: \`${translation('building', mid)}\``);
    expect(run.peer('bob').ikeSas[0]!.remote).toBe(external('building', mid));
    expect(a).toContain(`bob talks to \`${external('building', mid)}\``);
  });

  it("A3: nat-b's forwards are permanent; it creates no mapping", () => {
    const a = answer('A3');
    const b = run.nat('nat-b');
    for (const m of b.mappings) {
      expect(m.permanent).toBe(true);
      expect(a).toContain(`\`${m.external} → ${m.internal}\``);
    }
    expect(b.mappings).toHaveLength(2);
    expect(a).toContain(`(\`created\` stays \`${b.counters.created}\`)`);
    expect(b.counters.created).toBe(0);
  });

  it('A4: both peers set NAT_HERE and NAT_THERE; the hashed addresses', () => {
    const a = answer('A4');
    for (const p of ['alice', 'bob']) expect(run.peer(p).conditions).toEqual({ natHere: true, natThere: true, natFake: false });
    const peerHashedSource = (p: string) => /the peer hashed ([\d.:]+)\): the peer is behind a NAT/.exec(run.peer(p).natDetection!)![1]!;
    const peerHashedUs = (p: string) => /\(the peer hashed ([\d.:]+), where it saw us\)/.exec(run.peer(p).natDetection!)![1]!;
    expect(a).toContain(`alice hashed \`${peerHashedSource('bob')}\` as its source`);
    expect(a).toContain(`bob hashed \`${peerHashedSource('alice')}\``);
    expect(a).toContain(`bob hashed alice as \`${peerHashedUs('alice')}\``);
    expect(a).toContain(`alice hashed bob as \`${peerHashedUs('bob')}\``);
  });

  it('A5: the address between the PATs is in no hash', async () => {
    const mid = external('home', '10.1.0.2:500').split(':')[0]!;
    expect(answer('A5')).toContain(`\`${mid}\` appears in no hash`);
    for (const p of ['alice', 'bob']) expect(run.peer(p).natDetection).not.toContain(mid);
    const r = await runCli(['analyze', join(out, 'building-inside.pcapng'), '--json']);
    const report = JSON.parse(r.out) as { ikeSas: { natDetection: { hashes: { expected: { endpoint: string } | null; matchedEndpoint: string | null }[] } }[] };
    const hashes = report.ikeSas[0]!.natDetection.hashes;
    expect(hashes.length).toBeGreaterThan(0);
    // Seen from between the two PATs, no hash covers the address the packets carry there.
    expect(hashes.some((h) => h.matchedEndpoint?.startsWith(`${mid}:`))).toBe(false);
  });

  it('A6: the ESP-in-UDP endpoints of each side', () => {
    const a = answer('A6');
    const alice = run.peer('alice').children[0]!.encapEndpoints!;
    const bob = run.peer('bob').children[0]!.encapEndpoints!;
    expect(a).toContain(`alice: \`${alice.local}\` ↔ \`${alice.remote}\``);
    expect(a).toContain(`bob: \`${bob.local}\` ↔ \`${bob.remote}\``);
  });

  it('A7: both send keepalives, 5 each every 20 s', () => {
    const a = answer('A7');
    const alice = run.peer('alice').keepalives;
    const bob = run.peer('bob').keepalives;
    expect(alice.sent).toBe(bob.sent);
    expect(a).toContain(`\`${alice.sent}\` each`);
    expect(alice.interval).toEqual({ min: 20_000_000, max: 20_000_000 });
    expect(bob.interval).toEqual(alice.interval);
    expect(a).toContain(`every \`${seconds(alice.interval!.max)}\``);
    expect(a).toContain(`alice from \`${seconds(alice.sentAt[0]!)}\``);
    expect(a).toContain(`bob from \`${seconds(bob.sentAt[0]!)}\``);
  });
});
