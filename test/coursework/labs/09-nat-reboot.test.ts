/**
 * Lab 09 (docs/labs/09-nat-reboot.md): the client's PAT reboots mid-tunnel. Runs the
 * scenario, its captures and the variant without DPD, and proves every answer of the
 * key from the runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';
import { answerText, decodeJson, expectKeyChecked, expectLabPasses, expectStep, removeDir, seconds, setUpLab, type DecodedFrame, type LabRun } from './lab-run.ts';

const NAME = '09-nat-reboot';
const HAVE_TSHARK = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let run: LabRun;
let dir: string;
let out: string;
let inside: DecodedFrame[];

beforeAll(async () => {
  ({ lab, run, dir, out } = await setUpLab(NAME));
  inside = await decodeJson(join(out, 'home-inside.pcapng'));
});
afterAll(() => removeDir(dir));

const natEvents = () => run.nat('home-router').events;
const created = (internal: string) => natEvents().filter((e) => e.kind === 'created' && e.mapping!.startsWith(`udp ${internal} `));
const arrow = (mapping: string) => {
  const m = /^udp (\S+) ⇄ (\S+)/.exec(mapping)!;
  return `${m[1]} → ${m[2]}`;
};
const reboot = () => natEvents().find((e) => e.kind === 'reboot')!;
const loss = (reason: string) => run.traffic('ping').losses.find((l) => l.reason === reason)!;
const dpdChecks = () => run.peer('client').log.filter((l) => l.kind === 'dpd').map((l) => l.at);

describe('lab 09: the scenario and the steps', () => {
  it('passes every expectation', () => {
    expectLabPasses(lab, run, NAME);
    expectStep(lab, 'npx natt-sim decode /tmp/lab09/wan.pcapng');
  });

  it.skipIf(!HAVE_TSHARK)('tshark finds the frames the NAT dropped for want of a mapping (step 2)', () => {
    expectStep(lab, `tshark -r /tmp/lab09/home-outside.pcapng -Y 'frame.comment contains "no mapping"'`);
    const r = spawnSync('tshark', ['-r', join(out, 'home-outside.pcapng'), '-Y', 'frame.comment contains "no mapping"', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(loss('no-mapping').count);
    expect(lines[0]).toContain('no mapping for 203.0.113.2:6748');
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8']));
});

describe('lab 09: the answer key', () => {
  it('A1: the ports before the reboot', () => {
    const a = answer('A1');
    const ike = created('10.0.0.2:500');
    const natt = created('10.0.0.2:4500');
    expect(ike).toHaveLength(1);
    expect(natt).toHaveLength(2);
    expect(natt[0]!.at).toBeLessThan(reboot().at);
    expect(a).toContain(`IKE \`${arrow(ike[0]!.mapping!)}\``);
    expect(a).toContain(`NAT-T \`${arrow(natt[0]!.mapping!)}\``);
  });

  it('A2: the reboot loses the mappings; pings die as nat-down', () => {
    const a = answer('A2');
    const r = reboot();
    const lost = Number(/(\d+) mappings lost/.exec(r.comment)![1]);
    expect(a).toContain(`At \`${seconds(r.at)}\` the router loses its \`${lost}\` mappings`);
    const l = loss('nat-down');
    expect(a).toContain(`\`${l.count}\` in all, are dropped at \`${l.where}\` with reason \`${l.reason}\``);
    expect(l.firstAt).toBeGreaterThanOrEqual(r.at);
    expect(run.peer('client').ikeSas).toHaveLength(1);
    expect(run.peer('client').ikeSas[0]!.deletedAt).toBeNull();
  });

  it('A3: the first packet after the outage makes a new mapping on another port', () => {
    const n = created('10.0.0.2:4500')[1]!;
    expect(n.at).toBeGreaterThan(reboot().at);
    expect(answer('A3')).toContain(`At \`${seconds(n.at)}\` the ping sent at 66 s creates \`${arrow(n.mapping!)}\``);
    expect(n.mapping).not.toBe(created('10.0.0.2:4500')[0]!.mapping);
  });

  it('A4: replies to the old port die as no-mapping', () => {
    const a = answer('A4');
    const l = loss('no-mapping');
    const old = /⇄ (\S+)/.exec(created('10.0.0.2:4500')[0]!.mapping!)![1]!;
    expect(l.detail).toContain(`no mapping for ${old}`);
    expect(a).toContain(`At \`${l.where}\` again, reason \`${l.reason}\``);
    expect(a).toContain(`to \`${old}\`, the old mapping`);
    expect(a).toContain(`\`${l.count}\` pings are lost so`);
  });

  it('A5: the DPD request through the new mapping makes the server follow', () => {
    const a = answer('A5');
    const upd = run.peer('server').peerAddressUpdates;
    expect(upd).toHaveLength(1);
    const dpd = dpdChecks().filter((t) => t > reboot().at && t < upd[0]!.at).at(-1)!;
    expect(a).toContain(`DPD check at \`${seconds(dpd)}\``);
    // The check is due 15 s after the last packet the client received (home-inside, inbound).
    // The home tap sees a packet as it leaves the NAT; it reaches the client one link latency later.
    const latency = run.sim.scenario.topology.links.find((l) => l.name === 'home-lan')!.latency;
    const lastIn = inside.filter((f) => f.dst === '10.0.0.2' && f.timeUs < dpd).at(-1)!;
    expect(dpd - (lastIn.timeUs + latency)).toBe(15_000_000);
    expect(a).toContain(`the last reply came in at \`${seconds(lastIn.timeUs + latency)}\``);
    expect(a).toContain(`updates the peer address to \`${upd[0]!.to}\` at \`${seconds(upd[0]!.at)}\``);
    const sa = run.peer('client').ikeSas;
    expect(sa).toHaveLength(1);
    expect(run.peer('client').initiations).toHaveLength(1);
    expect(a).toContain(`(\`${sa[0]!.spiI}\`)`);
  });

  it('A6: the total and the length of the outage', () => {
    const a = answer('A6');
    const t = run.traffic('ping');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    const from = reboot().at;
    const to = run.peer('server').peerAddressUpdates[0]!.at;
    expect(a).toContain(`from \`${seconds(from)}\` until \`${seconds(to)}\`, about \`${seconds(to - from)}\``);
    expect(t.sent - t.delivered).toBe(loss('nat-down').count + loss('no-mapping').count);
    expect(a).toContain(`${t.sent - t.delivered} pings lost (${loss('nat-down').count} + ${loss('no-mapping').count})`);
  });

  it('A7: no keepalive is ever due', () => {
    const c = run.peer('client');
    expect(answer('A7')).toMatch(new RegExp(`^- \\*\\*A7\\.\\*\\* \`${c.keepalives.sent}\`\\.`));
    expect(c.keepalives.sent).toBe(0);
    // Never 20 s without an outbound packet on the NAT-T socket: the largest gap between DPD checks is under 20 s or broken by pings.
    const out = inside.filter((f) => f.src === '10.0.0.2' && f.srcPort === 4500).map((f) => f.timeUs);
    const gaps = out.slice(1).map((t, i) => t - out[i]!);
    expect(Math.max(...gaps)).toBeLessThan(20_000_000);
  });

  it('A8: without DPD the server never follows; keepalives do not help (step 4)', async () => {
    expectStep(lab, "grep -v 'dpd:' fixtures/labs/09-nat-reboot.yaml > /tmp/lab09-nodpd.yaml");
    const text = readFileSync(join(ROOT, 'fixtures/labs', `${NAME}.yaml`), 'utf8')
      .split('\n')
      .filter((l) => !l.includes('dpd:'))
      .join('\n');
    const file = join(dir, 'lab09-nodpd.yaml');
    writeFileSync(file, text);
    const r = await runCli(['simulate', file, '--out', join(dir, 'nodpd'), '--explain']);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'nodpd', 'report.json'), 'utf8')) as typeof run.report;
    const t = report.traffic[0]!;
    const a = answer('A8');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    const server = report.peers.find((p) => p.name === 'server')!;
    expect(server.peerAddressUpdates).toHaveLength(0);
    expect(r.out).toContain('the peer address never changed');
    const noMap = t.losses.find((l) => l.reason === 'no-mapping')!;
    const down = t.losses.find((l) => l.reason === 'nat-down')!;
    expect(a).toContain(`\`${noMap.count}\` pings are lost as \`no-mapping\` after the \`${down.count}\` lost as \`nat-down\``);
    const client = report.peers.find((p) => p.name === 'client')!;
    const after = client.keepalives.sentAt.filter((at) => at > reboot().at);
    expect(after.length).toBeGreaterThan(0);
    expect(a).toContain(`sends \`${client.keepalives.sent}\` keepalives, \`${after.length}\` of them after the reboot`);
    expect(a).toContain(`(from \`${seconds(after[0]!)}\`, once the pings stop)`);
    const lastPing = 50 + 2 * 29;
    expect(after[0]! / 1e6).toBeGreaterThan(lastPing);
  });
});
