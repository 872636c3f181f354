/**
 * Lab 06 (docs/labs/06-raw-esp-through-pat.md): raw ESP through a PAT without and with
 * an ESP ALG. Runs the lab's scenario and its steps, and proves every answer of the key
 * from the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';
import { answerText, decodeJson, expectAllPass, expectKeyChecked, expectStep, removeDir, seconds, setUpLab, timeText, type DecodedFrame, type LabRun } from './lab-run.ts';

const NAME = '06-raw-esp-through-pat';

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let run: LabRun;
let dir: string;
let explain: string;
const frames = new Map<string, DecodedFrame[]>();

beforeAll(async () => {
  ({ lab, run, dir, explain } = await setUpLab(NAME));
  for (const t of ['home-a-inside', 'home-a-outside', 'home-b-inside']) frames.set(t, await decodeJson(join(dir, 'out', `${t}.pcapng`)));
});
afterAll(() => removeDir(dir));

const esp = (tap: string) => frames.get(tap)!.filter((f) => f.kind === 'esp');
const mappingOf = (nat: string, internal: string) => {
  const e = run.nat(nat).events.find((x) => x.kind === 'created' && x.mapping?.includes(` ${internal} `));
  expect(e, `${nat} maps ${internal}`).toBeDefined();
  return e!;
};

describe('lab 06: the scenario and the steps', () => {
  it('passes every expectation, in-process and through the CLI step', () => {
    expectAllPass(run);
    expect(explain).toContain(`expectations: ${run.sim.results.length} passed, 0 failed`);
    expect(lab.text).toContain(`All ${run.sim.results.length} expectations pass`);
    expectStep(lab, `npx natt-sim simulate fixtures/labs/${NAME}.yaml --out /tmp/lab06 --explain`);
    expectStep(lab, 'npx natt-sim decode /tmp/lab06/home-a-inside.pcapng');
    expectStep(lab, 'npx natt-sim decode /tmp/lab06/home-b-inside.pcapng');
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8']));
});

describe('lab 06: the answer key', () => {
  it('A1: a1 is established over UDP 500, which home-a translates', () => {
    const a1 = run.peer('a1');
    const a = answer('A1');
    expect(a).toContain(`\`${timeText(a1.ikeSas[0]!.establishedAt!)}\``);
    expect(a1.floated).toBe(false);
    expect(a).toContain(a1.ikeSas[0]!.local!);
    expect(a).toContain(a1.ikeSas[0]!.remote!);
    const m = /udp (\S+) ⇄ (\S+)/.exec(mappingOf('home-a', '10.0.1.2:500').mapping!)!;
    expect(a).toContain(`${m[1]} → ${m[2]}`);
  });

  it('A2: a1 has NAT_HERE, the server NAT_THERE, and the server hashed the NAT address', () => {
    const a1 = run.peer('a1');
    expect(a1.conditions).toEqual({ natHere: true, natThere: false, natFake: false });
    expect(run.peer('server').ikeSas.find((s) => s.spiI === a1.ikeSas[0]!.spiI)!.natThere).toBe(true);
    const hashed = /the peer hashed (\S+), where it saw us/.exec(a1.natDetection!)![1]!;
    expect(answer('A2')).toContain(`\`${hashed}\``);
    expect(answer('A2')).toMatch(/NAT_HERE[\s\S]*NAT_THERE/);
  });

  it('A3: no ping of a1 is answered; home-a drops the ESP (esp-no-alg); ESP only on the inside', () => {
    const t = run.traffic('ping-a1');
    const a = answer('A3');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    expect(t.losses).toHaveLength(1);
    const loss = t.losses[0]!;
    expect(a).toContain(`\`${loss.count}\``);
    expect(a).toContain(`\`${loss.where}\``);
    expect(a).toContain(`\`${loss.reason}\``);
    expect(loss.reason).toBe('esp-no-alg');
    expect(a).toContain('this PAT has no ESP ALG and ESP has no ports to translate');
    expect(loss.detail).toContain('this PAT has no ESP ALG and ESP has no ports to translate');
    expect(a).toContain(`has \`${esp('home-a-inside').length}\` ESP frames`);
    expect(a).toContain(`home-a-outside.pcapng has \`${esp('home-a-outside').length}\``);
    expect(esp('home-a-inside')).toHaveLength(t.sent);
    expect(esp('home-a-outside')).toHaveLength(0);
  });

  it("A4: the dropped SPI is a1's outbound SPI, the server's inbound one", () => {
    const spiOut = run.peer('a1').children[0]!.spiOut;
    expect(run.nat('home-a').drops[0]!.example).toContain(`SPI 0x${spiOut}`);
    expect(run.peer('server').children.some((c) => c.spiIn === spiOut)).toBe(true);
    expect(esp('home-a-inside').every((f) => f.esp!.spi === `0x${spiOut}`)).toBe(true);
    expect(answer('A4')).toContain(`\`0x${spiOut}\``);
  });

  it('A5: b1 works through the ESP ALG, bound on the remote address', () => {
    const t = run.traffic('ping-b1');
    expect([t.delivered, t.sent]).toEqual([3, 3]);
    const a = answer('A5');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    const b = run.nat('home-b').events.find((e) => e.mapping?.startsWith('esp '));
    expect(b).toBeDefined();
    expect(a).toContain(`\`${seconds(b!.at)}\``);
    expect(a).toContain(`\`${b!.mapping}\``);
    expect(b!.mapping).toContain('10.0.2.2');
  });

  it("A6: b2's IKE gets another port; none of its pings is answered", () => {
    const a = answer('A6');
    const m = /udp (\S+) ⇄ (\S+)/.exec(mappingOf('home-b', '10.0.2.3:500').mapping!)!;
    expect(a).toContain(`\`${m[1]} → ${m[2]}\``);
    expect(a).toContain(`\`${seconds(run.peer('b2').ikeSas[0]!.establishedAt!)}\``);
    const t = run.traffic('ping-b2');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    expect(t.delivered).toBe(0);
  });

  it("A7: the server's ESP for b2 goes to b1, which drops it (unknown-spi)", () => {
    const b2 = run.peer('b2');
    const spiIn = b2.children[0]!.spiIn;
    const toB2 = esp('home-b-inside').filter((f) => f.esp!.spi === `0x${spiIn}`);
    expect(toB2).toHaveLength(3);
    const dst = [...new Set(toB2.map((f) => f.dst))];
    expect(dst).toEqual(['10.0.2.2']);
    const a = answer('A7');
    expect(a).toContain(`\`0x${spiIn}\``);
    expect(a).toContain(`\`${dst[0]}\` (b1)`);
    const loss = run.traffic('ping-b2').losses[0]!;
    expect([loss.where, loss.reason]).toEqual(['b1', 'unknown-spi']);
    expect(run.peer('b1').espDrops['unknown-spi']).toBe(loss.count);
    expect(a).toContain(`drops all \`${loss.count}\` (\`${loss.reason}\`)`);
    expect(a).toContain(`b2 sent \`${b2.counters.encaps}\` ESP packets and decrypted \`${b2.counters.decaps}\``);
  });

  it('A8: with NAT-T on, every ping is answered and b2 uses another external port (step 6)', async () => {
    expectStep(lab, "sed 's/encap: off/encap: auto/' fixtures/labs/06-raw-esp-through-pat.yaml > /tmp/lab06-natt.yaml");
    const text = readFileSync(join(ROOT, 'fixtures/labs', `${NAME}.yaml`), 'utf8').replaceAll('encap: off', 'encap: auto');
    const file = join(dir, 'lab06-natt.yaml');
    writeFileSync(file, text);
    const r = await runCli(['simulate', file, '--out', join(dir, 'natt'), '--explain']);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'natt', 'report.json'), 'utf8')) as typeof run.report;
    const a = answer('A8');
    for (const t of report.traffic) {
      expect([t.name, t.delivered]).toEqual([t.name, t.sent]);
      expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    }
    expect(a).toContain(`(\`${report.traffic.reduce((n, t) => n + t.delivered, 0)}\` in all)`);
    const b2 = report.nats.find((n) => n.name === 'home-b')!.events.find((e) => e.mapping?.startsWith('udp 10.0.2.3:4500 '));
    const ext = /⇄ (\S+)/.exec(b2!.mapping!)![1]!;
    expect(a).toContain(`\`${ext}\``);
    expect(r.out).toContain(`traffic ping-b2: 3/3 delivered`);
  });
});
