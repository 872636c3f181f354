/**
 * docs/labs/instructor-guide.md and docs/labs/README.md: runs the guide's commands and
 * checks its claims. The grading example (verify on a good and a wrong lab 07 capture,
 * with the exact lines the guide prints), the seed table of lab 09 (two seeds run), the
 * lab 11 seed warning, the student copy without the key, and the labs index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { LABS_DIR, readLab } from './lab-key.ts';
import { ROOT, runCli } from './support.ts';
import { removeDir, runLab, seconds, tempDir, timeText, type LabRun } from './labs/lab-run.ts';

const GUIDE = readFileSync(join(LABS_DIR, 'instructor-guide.md'), 'utf8');
const INDEX = readFileSync(join(LABS_DIR, 'README.md'), 'utf8');
const GRADING = 'fixtures/labs/grading/07-forced-encapsulation.expect.yaml';
const LAB07 = 'fixtures/labs/07-forced-encapsulation.yaml';

/** The untagged ```text block that follows `after` in the guide. */
function textBlockAfter(after: string): string[] {
  const at = GUIDE.indexOf(after);
  expect(at, `the guide contains ${after}`).toBeGreaterThan(-1);
  const open = GUIDE.indexOf('```text\n', at);
  const close = GUIDE.indexOf('\n```', open + 8);
  return GUIDE.slice(open + 8, close).split('\n');
}

let dir: string;
beforeAll(() => {
  dir = tempDir('guide');
  // The guide's commands use paths relative to the repository root.
  expect(process.cwd()).toBe(ROOT);
});
afterAll(() => removeDir(dir));

describe('instructor guide: grading lab 07 with verify', () => {
  it('the expectations file shown is the one in fixtures/', () => {
    const file = readFileSync(join(ROOT, GRADING), 'utf8');
    const body = file
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')
      .trim();
    expect(GUIDE).toContain('```yaml\n' + body + '\n```');
  });

  it("a good capture from seed 1234 passes: the guide's commands and output", async () => {
    expect(GUIDE).toContain(`npx natt-sim simulate ${LAB07} --seed 1234 --out /tmp/student-1234`);
    expect(GUIDE).toContain(`npx natt-sim verify /tmp/student-1234/gw.pcapng --expect ${GRADING}`);
    const out = join(dir, 'student-1234');
    const s = await runCli(['simulate', LAB07, '--seed', '1234', '--out', out]);
    expect(s.code).toBe(0);
    const v = await runCli(['verify', join(out, 'gw.pcapng'), '--expect', GRADING]);
    expect([v.code, v.err]).toEqual([0, '']);
    expect(textBlockAfter(`npx natt-sim verify /tmp/student-1234/gw.pcapng --expect ${GRADING}`)).toEqual([v.out.trimEnd()]);
  });

  it('a capture without encap: force fails with the lines the guide prints', async () => {
    const sed = `sed 's/encap: force/encap: auto/' ${LAB07} > /tmp/wrong.yaml`;
    expect(GUIDE).toContain(sed);
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(wrong, readFileSync(join(ROOT, LAB07), 'utf8').replaceAll('encap: force', 'encap: auto'));
    const out = join(dir, 'wrong');
    const s = await runCli(['simulate', wrong, '--seed', '1234', '--out', out]);
    expect(s.code).toBe(1);
    const v = await runCli(['verify', join(out, 'gw.pcapng'), '--expect', GRADING]);
    expect(v.code).toBe(1);
    const lines = v.out.trimEnd().split('\n');
    expect(textBlockAfter(`npx natt-sim verify /tmp/wrong/gw.pcapng --expect ${GRADING}`)).toEqual(lines);
    const tally = v.err.trim();
    expect(GUIDE).toContain(`Exit code 1, and \`${tally}\` on stderr`);
    const m = /(\d+) failed assertion\(s\) of (\d+)/.exec(tally)!;
    expect(GUIDE).toContain(`(here ${Number(m[2]) - Number(m[1])} of ${m[2]})`);
    expect(lines).toHaveLength(Number(m[1]));
  });

  it('bad input is exit 2, never a pass', async () => {
    const notCapture = join(dir, 'notes.txt');
    writeFileSync(notCapture, 'my answers\n');
    const r = await runCli(['verify', notCapture, '--expect', GRADING]);
    expect(r.code).toBe(2);
    expect(r.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(GUIDE).toContain('gives exit 2');
  });

  it('the lab 10 expectations file holds for the real capture with its keys', async () => {
    const r = await runCli(['verify', 'pcaps/strongswan-nat-outside.pcap', '--expect', 'fixtures/labs/grading/10-real-capture.expect.yaml', '--keys', 'pcaps/strongswan-nat-wireshark']);
    expect(r.code).toBe(0);
    const without = await runCli(['verify', 'pcaps/strongswan-nat-outside.pcap', '--expect', 'fixtures/labs/grading/10-real-capture.expect.yaml']);
    expect(without.code).toBe(1);
    expect(without.out.trim().split('\n')).toHaveLength(1);
  });
});

describe('instructor guide: per-student variants with seeds', () => {
  let a: LabRun;
  let b: LabRun;
  beforeAll(() => {
    a = runLab('09-nat-reboot');
    b = runLab('09-nat-reboot', 61);
  });

  /** The row of the seed table whose first cell is `label`: [seed 60 cell, seed 61 cell]. */
  function row(label: string): [string, string] {
    const line = GUIDE.split('\n').find((l) => l.startsWith(`| ${label} |`));
    expect(line, `the seed table has a row "${label}"`).toBeDefined();
    const cells = line!.split('|').slice(2, 4).map((c) => c.trim().replace(/^`|`$/g, ''));
    return [cells[0]!, cells[1]!];
  }
  const both = (f: (r: LabRun) => string): [string, string] => [f(a), f(b)];
  const port = (r: LabRun, internal: string, n: number) =>
    r.nat('home-router').events.filter((e) => e.kind === 'created' && e.mapping!.startsWith(`udp ${internal} `))[n]!.mapping!.split(':').at(-1)!;

  it('the scenario seed is 60, the other 61, and the table header says so', () => {
    expect(a.report.scenario.seed).toBe(60);
    expect(b.report.scenario.seed).toBe(61);
    expect(GUIDE).toContain('| | seed 60 | seed 61 |');
    expect(GUIDE).toContain('npx natt-sim simulate fixtures/labs/09-nat-reboot.yaml --seed 61 --out /tmp/student-61');
  });

  it('SPIs, hashes and random NAT ports change', () => {
    const checks: [string, (r: LabRun) => string][] = [
      ['IKE SPIi', (r) => r.peer('client').ikeSas[0]!.spiI],
      ["client's inbound ESP SPI", (r) => r.peer('client').children[0]!.spiIn],
      ["server's NAT_DETECTION_DESTINATION_IP as the client saw it", (r) => /^NAT_DETECTION_DESTINATION_IP (\S+…)/.exec(r.peer('client').natDetection!)![1]!],
      ["NAT port of the client's IKE socket", (r) => port(r, '10.0.0.2:500', 0)],
      ['NAT port of the NAT-T socket before the reboot', (r) => port(r, '10.0.0.2:4500', 0)],
      ['NAT port of the NAT-T socket after the reboot', (r) => port(r, '10.0.0.2:4500', 1)],
    ];
    for (const [label, f] of checks) {
      const v = both(f);
      expect(row(label), label).toEqual(v);
      expect(v[0], `${label} differs between the seeds`).not.toBe(v[1]);
    }
  });

  it('timings, counts and expectations do not', () => {
    const checks: [string, (r: LabRun) => string][] = [
      ['client established', (r) => timeText(r.peer('client').ikeSas[0]!.establishedAt!)],
      ['server follows the client to the new port', (r) => seconds(r.peer('server').peerAddressUpdates[0]!.at)],
      ['pings answered', (r) => `${r.traffic('ping').delivered} of ${r.traffic('ping').sent}`],
      ['expectations', (r) => `${r.report.result.passed} passed, ${r.report.result.failed} failed`],
    ];
    for (const [label, f] of checks) {
      const v = both(f);
      expect(row(label), label).toEqual(v);
      expect(v[0], `${label} is the same for both seeds`).toBe(v[1]);
    }
    expect(b.sim.ok).toBe(true);
    expect(b.peer('client').conditions).toEqual(a.peer('client').conditions);
  });

  it('the same seed gives byte-identical captures', async () => {
    const x = join(dir, 'seed61-a');
    const y = join(dir, 'seed61-b');
    expect((await runCli(['simulate', 'fixtures/labs/09-nat-reboot.yaml', '--seed', '61', '--out', x])).code).toBe(0);
    expect((await runCli(['simulate', 'fixtures/labs/09-nat-reboot.yaml', '--seed', '61', '--out', y])).code).toBe(0);
    for (const f of ['wan.pcapng', 'home-inside.pcapng', 'home-outside.pcapng']) expect(readFileSync(join(x, f)).equals(readFileSync(join(y, f)))).toBe(true);
    expect(GUIDE).toContain('The same seed\ngives byte-identical captures');
  });

  it('sequential and preserve NATs give the same ports for every seed (labs 06 and 08)', () => {
    for (const name of ['06-raw-esp-through-pat', '08-double-and-twice-nat']) {
      const ports = (r: LabRun) => r.report.nats.map((n) => n.mappings.map((m) => `${m.internal}>${m.external}`).join(',')).join(';');
      expect(ports(runLab(name, 5))).toBe(ports(runLab(name)));
    }
  });

  it('lab 11: seed 17 brings the SA up at once, so its expectations fail', async () => {
    const l = runLab('11-lossy-link', 17);
    expect(l.peer('client').retransmits).toHaveLength(0);
    expect(l.sim.ok).toBe(false);
    expect(l.sim.results.find((r) => !r.ok)!.text).toBe('client retransmits (3 times)');
    expect(GUIDE).toContain('with seed 17 the IKE SA comes\n  up at once, `client retransmits (3 times)` fails and `simulate` exits 1');
    const r = await runCli(['simulate', 'fixtures/labs/11-lossy-link.yaml', '--seed', '17', '--out', join(dir, 'seed17')]);
    expect(r.code).toBe(1);
    expect(runLab('11-lossy-link').report.scenario.seed).toBe(16);
  });
});

describe('instructor guide: keys, tests and the index', () => {
  const labs = readdirSync(LABS_DIR)
    .filter((f) => /^\d\d-.*\.md$/.test(f))
    .sort();

  it('every lab has a test, and a scenario except lab 10', () => {
    expect(labs).toHaveLength(11);
    for (const f of labs) {
      const slug = f.slice(0, -3);
      expect(existsSync(join(ROOT, 'test/coursework/labs', `${slug}.test.ts`)), `${slug} has a test`).toBe(true);
      if (!slug.startsWith('10-')) expect(existsSync(join(ROOT, 'fixtures/labs', `${slug}.yaml`)), `${slug} has a scenario`).toBe(true);
      const lab = readLab(f);
      expect([...lab.questions.keys()].map((q) => q.slice(1))).toEqual([...lab.answers.keys()].map((k) => k.slice(1)));
    }
  });

  it('the student copy (sed from "## Answer key" to the end) keeps the questions and drops every answer', () => {
    expect(GUIDE).toContain("sed '/^## Answer key/,$d' docs/labs/09-nat-reboot.md > lab09-student.md");
    for (const f of labs) {
      const r = spawnSync('sed', ['/^## Answer key/,$d', join(LABS_DIR, f)], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout, f).toContain('## Questions');
      expect(r.stdout, f).toContain('**Q1.**');
      expect(r.stdout, f).not.toMatch(/\*\*A\d+\.\*\*/);
    }
  });

  it('the index lists the eleven labs in number order, each link to an existing lab', () => {
    const links = [...INDEX.matchAll(/\| \[(\d\d) [^\]]+\]\(([^)]+)\) \|/g)];
    expect(links.map((m) => m[1])).toEqual(['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11']);
    expect(links.map((m) => m[2])).toEqual(labs);
    expect(INDEX).toContain('[instructor guide](instructor-guide.md)');
  });

  it('the suggested order (index and guide) names every lab once', () => {
    const order = INDEX.slice(INDEX.indexOf('## Suggested order'));
    const named = [...order.matchAll(/\b(\d\d)\b/g)].map((m) => m[1]);
    expect([...named].sort()).toEqual(['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11']);
    const weeks = GUIDE.split('\n').filter((l) => /^\| \d \|/.test(l));
    const inWeeks = weeks.flatMap((l) => l.split('|')[2]!.split(',').map((x) => x.trim()));
    expect([...inWeeks].sort()).toEqual(['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11']);
  });
});
