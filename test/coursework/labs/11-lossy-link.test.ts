/**
 * Lab 11 (docs/labs/11-lossy-link.md): IKE retransmission over a lossy uplink. Runs the
 * scenario, its two captures and the variant with the uplink down for good, and proves
 * every answer of the key from the runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisReport } from '../../../src/analysis/report.ts';
import type { LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';
import { answerText, decodeJson, expectKeyChecked, expectLabPasses, expectStep, removeDir, runLab, seconds, setUpLab, timeText, type DecodedFrame, type LabRun } from './lab-run.ts';

const NAME = '11-lossy-link';

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let run: LabRun;
let dir: string;
let out: string;
let client: DecodedFrame[];
let server: DecodedFrame[];

beforeAll(async () => {
  ({ lab, run, dir, out } = await setUpLab(NAME));
  client = await decodeJson(join(out, 'client-side.pcapng'));
  server = await decodeJson(join(out, 'server-side.pcapng'));
});
afterAll(() => removeDir(dir));

const ike = (frames: DecodedFrame[], exchange: string, response: boolean) => frames.filter((f) => f.ike?.exchange === exchange && f.ike.response === response);
const retransmits = () => run.peer('client').retransmits;
/** The link latency of a scenario link. */
const latency = (link: string) => run.sim.scenario.topology.links.find((l) => l.name === link)!.latency;
/** When the client sent each IKE_AUTH request: the client-side tap records it on arrival at the NAT, one LAN latency later. */
const sendTimes = () => ike(client, 'IKE_AUTH', false).map((f) => f.timeUs - latency('home-lan'));

describe('lab 11: the scenario and the steps', () => {
  it('passes every expectation', () => {
    expectLabPasses(lab, run, NAME);
    expectStep(lab, 'npx natt-sim decode /tmp/lab11/client-side.pcapng');
    expectStep(lab, 'npx natt-sim decode /tmp/lab11/server-side.pcapng');
  });

  it('the analyser counts the retransmissions on the client side (step 3)', async () => {
    expectStep(lab, 'npx natt-sim analyze /tmp/lab11/client-side.pcapng --explain');
    const r = await runCli(['analyze', join(out, 'client-side.pcapng'), '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as AnalysisReport;
    expect(report.ikeSas[0]!.retransmissions).toBe(retransmits().length);
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']));
});

describe('lab 11: the answer key', () => {
  it('A1: IKE_SA_INIT goes through at once', () => {
    const a = answer('A1');
    expect(retransmits().filter((r) => r.exchange !== 'ike-auth')).toEqual([]);
    expect(ike(client, 'IKE_SA_INIT', false)).toHaveLength(1);
    const resp = ike(client, 'IKE_SA_INIT', true);
    expect(resp).toHaveLength(1);
    expect(a).toContain(`reaches the client at \`${timeText(resp[0]!.timeUs)}\` (frame ${resp[0]!.frame} of client-side.pcapng)`);
    expect(run.peer('client').floats[0]!.at).toBe(resp[0]!.timeUs);
  });

  it('A2: the retransmission times and the waits before them', () => {
    const a = answer('A2');
    const rt = retransmits();
    expect(rt.map((r) => r.exchange)).toEqual(['ike-auth', 'ike-auth', 'ike-auth']);
    const times = sendTimes();
    const waits = times.slice(1).map((t, i) => t - times[i]!);
    expect(waits).toEqual([1_000_000, 1_500_000, 2_250_000]);
    expect(a).toContain(`At ${rt.map((r) => `\`${seconds(r.at)}\``).join(', ').replace(/, (?=[^,]*$)/, ' and ')}`);
    expect(a).toContain(`after waiting ${waits.map((w) => `\`${seconds(w)}\``).join(', ').replace(/, (?=[^,]*$)/, ' and ')}`);
  });

  it('A3: requests sent, requests received, responses sent, responses received', () => {
    const a = answer('A3');
    const sent = ike(client, 'IKE_AUTH', false);
    const arrived = ike(server, 'IKE_AUTH', false);
    const answered = ike(server, 'IKE_AUTH', true);
    const back = ike(client, 'IKE_AUTH', true);
    expect(sent).toHaveLength(retransmits().length + 1);
    expect(a).toContain(`The client sent \`${sent.length}\` IKE_AUTH requests (the first and ${retransmits().length} retransmissions); \`${arrived.length}\` reached the server`);
    // The lost one: sent by the client, never at the server one path delay later.
    const path = latency('home-lan') + latency('uplink') + latency('dc-lan');
    const lost = sendTimes().filter((t) => !arrived.some((r) => r.timeUs === t + path));
    expect(lost).toHaveLength(sent.length - arrived.length);
    expect(sendTimes().slice(1)).toEqual(retransmits().map((r) => r.at));
    expect(a).toContain(`(the one sent at ${seconds(lost[0]!)} was lost on the uplink)`);
    expect(a).toContain(`The server sent \`${answered.length}\` responses`);
    expect(answered.length).toBe(arrived.length);
    expect(a).toContain(`only \`${back.length}\`, the last, reached the client, at \`${seconds(back[0]!.timeUs)}\``);
  });

  it('A4: the responder never retransmits; it resends its stored response', () => {
    const a = answer('A4');
    expect(run.peer('server').retransmits).toHaveLength(0);
    const answered = ike(server, 'IKE_AUTH', true);
    expect(new Set(answered.map((f) => f.ike!.messageId))).toEqual(new Set([1]));
    expect(new Set(answered.map((f) => f.length)).size).toBe(1);
    expect(a).toContain(`same message ID \`${answered[0]!.ike!.messageId}\``);
    expect(a).toContain(`(\`${answered.length}\` identical responses on the server-side capture)`);
    expect(a).toMatch(/^- \*\*A4\.\*\* `0` times/);
  });

  it('A5: the cost of the lost IKE_AUTH messages', () => {
    const a = answer('A5');
    const srv = run.peer('server').ikeSas[0]!.establishedAt!;
    const cli = run.peer('client').ikeSas[0]!.establishedAt!;
    expect(a).toContain(`The server is established at \`${timeText(srv)}\`, the client at \`${seconds(cli)}\``);
    // Without loss the client is up one server-to-client trip after the server (as in lab 09, same topology): 48 ms.
    const lossless = runLab('09-nat-reboot').peer('client').ikeSas[0]!.establishedAt!;
    expect(lossless - run.peer('server').ikeSas[0]!.establishedAt!).toBe(12_000);
    expect(a).toContain(`up at \`${timeText(lossless)}\``);
    expect(a).toContain(`cost \`${seconds(cli - lossless)}\``);
    expect(cli - lossless).toBe(1_000_000 + 1_500_000 + 2_250_000);
  });

  it('A6: pings lost on the uplink are not retransmitted', () => {
    const a = answer('A6');
    const t = run.traffic('ping');
    expect(a).toContain(`\`${t.delivered} of ${t.sent}\``);
    expect(t.losses).toHaveLength(1);
    expect(a).toContain(`\`${t.losses[0]!.count}\` are lost on the \`${t.losses[0]!.where}\` (reason \`${t.losses[0]!.reason}\`)`);
    const requests = client.filter((f) => f.kind === 'esp' && f.src === '10.0.0.2');
    expect(requests).toHaveLength(t.sent);
    expect(new Set(requests.map((f) => f.esp!.sequence)).size).toBe(t.sent);
  });

  it('A7: with the uplink down for good, the server gives up at 30 s, the client after 8 retransmissions (step 5)', async () => {
    expectStep(lab, "sed 's/^taps:/events:\\n  - { at: 30ms, action: link-down, link: uplink }\\n\\ntaps:/' fixtures/labs/11-lossy-link.yaml > /tmp/lab11-down.yaml");
    const text = readFileSync(join(ROOT, 'fixtures/labs', `${NAME}.yaml`), 'utf8').replace(/^taps:/m, 'events:\n  - { at: 30ms, action: link-down, link: uplink }\n\ntaps:');
    const file = join(dir, 'lab11-down.yaml');
    writeFileSync(file, text);
    const r = await runCli(['simulate', file, '--out', join(dir, 'down'), '--explain']);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'down', 'report.json'), 'utf8')) as typeof run.report;
    const a = answer('A7');
    const srv = report.peers.find((p) => p.name === 'server')!.ikeSas[0]!;
    expect(a).toContain(`half-open SA at \`${seconds(srv.deletedAt!)}\` (\`${srv.deleteReason}\`)`);
    const cli = report.peers.find((p) => p.name === 'client')!;
    expect(cli.retransmits.every((x) => x.exchange === 'ike-auth')).toBe(true);
    expect(a).toContain(`The client retransmits \`${cli.retransmits.length}\` times (the last at \`${seconds(cli.retransmits.at(-1)!.at)}\`)`);
    const sa = cli.ikeSas[0]!;
    expect(a).toContain(`gives up at \`${seconds(sa.deletedAt!)}\` (\`${sa.deleteReason}\`)`);
    // 8 retransmissions: 9 waits of 1 s × 1.5^k, counted from the first IKE_AUTH request at 24 ms.
    const waits = Array.from({ length: 9 }, (_, k) => 1.5 ** k).reduce((x, y) => x + y, 0);
    expect(a).toContain(`1.5⁸) s = 24 ms + \`${waits.toFixed(3)} s\``);
    expect(Math.abs(sa.deletedAt! - 24_000 - waits * 1e6)).toBeLessThan(1);
  });
});
