/**
 * `natt-sim replay`: exit 1 and the taps plus report.json in --out when a flow would
 * have broken, 0 when every flow made it, 2 with one line for bad input (capture,
 * scenario with file:line and key, --map), and a cut capture replayed up to the cut.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { A_NAT_INSIDE, KEEPALIVE_25S, REPLAY_FIXTURES, syntheticCapture } from '../sim/replay-captures.ts';
import type { ReplayReport } from '../../src/sim/replay-report.ts';

/** Runs the CLI in-process, collecting what it prints. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const hasTshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;
const haveCapture = existsSync(A_NAT_INSIDE);
const F20 = join(REPLAY_FIXTURES, 'replay-pat-20s.yaml');
const F120 = join(REPLAY_FIXTURES, 'replay-pat-120s.yaml');
const F4 = join(REPLAY_FIXTURES, 'replay-pat-4s.yaml');

let dir: string;
let keepalives: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-replay-cli-'));
  keepalives = join(dir, 'keepalive-25s.pcap');
  writeFileSync(keepalives, syntheticCapture(KEEPALIVE_25S));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TAP_FILES = ['all-taps.pcapng', 'replay-initiator.pcapng', 'replay-nat-inside.pcapng', 'replay-nat-outside.pcapng', 'replay-responder.pcapng', 'report.json'];

describe('natt-sim replay', () => {
  it('exit 1 when a flow breaks: the summary names the drop, --out holds the taps and report.json', async () => {
    const out = join(dir, 'k20');
    const r = await runCli(['replay', keepalives, '--scenario', F20, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toContain('BROKEN  udp 10.77.0.2:4500 ⇄ 198.51.100.2:4500  a→b 3/3  b→a 1/2 (1 dropped)');
    expect(r.out).toContain('38.4 s frame 4 b→a ESP-in-UDP SPI 0xc0ffee01 seq 2 → 198.51.100.1:20000: nat no-mapping');
    expect(r.out).toContain('verdict: would have broken: 1 flow, 1 broken');
    expect(readdirSync(out).sort()).toEqual(TAP_FILES);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReplayReport;
    expect(report.flows[0]!.drops.map((d) => [d.atUs, d.natReason])).toEqual([[38_400_000, 'no-mapping']]);
    expect(report.mappingExpiries[0]!.expiredAtUs).toBe(20_000_001);
  });

  it('exit 0 when every flow makes it; --json prints the report', async () => {
    const out = join(dir, 'k120');
    const r = await runCli(['replay', keepalives, '--scenario', F120, '--out', out, '--json']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const report = JSON.parse(r.out) as ReplayReport;
    expect(report.verdict).toBe('ok');
    expect(report.flows[0]!.bToA).toMatchObject({ injected: 2, delivered: 2 });
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(report);
  });

  it.skipIf(!haveCapture)('a-nat-keepalive through a 4 s NAT: exit 1, through 20 s and 120 s: exit 0', async () => {
    const r4 = await runCli(['replay', A_NAT_INSIDE, '--scenario', F4, '--out', join(dir, 'a4')]);
    expect(r4.code).toBe(1);
    expect(r4.out).toContain('the mapping for 10.77.0.2:4500 (198.51.100.1:20001) at NAT nat expired at 13.292937 s');
    for (const f of [F20, F120]) {
      const r = await runCli(['replay', A_NAT_INSIDE, '--scenario', f, '--out', join(dir, `a-${f.length}`)]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('verdict: every flow made it: 2 flows, 2 ok');
    }
  });

  it.skipIf(!hasTshark)('tshark reads every written pcapng with no malformed packet', async () => {
    const out = join(dir, 'ts');
    await runCli(['replay', keepalives, '--scenario', F20, '--out', out]);
    for (const f of readdirSync(out).filter((x) => x.endsWith('.pcapng'))) {
      const bad = spawnSync('tshark', ['-n', '-r', join(out, f), '-Y', '_ws.malformed || _ws.expert.severity >= "error"'], { encoding: 'utf8' });
      expect(bad.status, f).toBe(0);
      expect(bad.stdout, f).toBe('');
    }
    const comments = spawnSync('tshark', ['-n', '-r', join(out, 'replay-nat-outside.pcapng'), '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(comments.stdout).toContain('NAT nat: dropped inbound UDP 198.51.100.2:4500 → 198.51.100.1:20000: no mapping for 198.51.100.1:20000');
  });

  it('without --out it makes a fresh directory named after the capture and the scenario', async () => {
    const cwd = process.cwd();
    const work = mkdtempSync(join(dir, 'cwd-'));
    process.chdir(work);
    try {
      const a = await runCli(['replay', keepalives, '--scenario', F120]);
      const b = await runCli(['replay', keepalives, '--scenario', F120]);
      expect([a.code, b.code]).toEqual([0, 0]);
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(work).sort()).toEqual(['replay-keepalive-25s-replay-pat-120s', 'replay-keepalive-25s-replay-pat-120s-2']);
  });

  it('--map chooses the host; a bad --map is one line and exit 2', async () => {
    const ok = await runCli(['replay', keepalives, '--scenario', F120, '--out', join(dir, 'm'), '--map', '198.51.100.2=responder.eth0', '--json']);
    expect((JSON.parse(ok.out) as ReplayReport).mapping[1]).toMatchObject({ captured: '198.51.100.2', host: 'responder', rule: 'option' });
    expect(await runCli(['replay', keepalives, '--scenario', F120, '--map', 'nonsense'])).toEqual({
      code: 2,
      out: '',
      err: 'natt-sim: --map nonsense: expected CAPTURED_ADDRESS=HOST or CAPTURED_ADDRESS=HOST.INTERFACE\n',
    });
    expect(await runCli(['replay', keepalives, '--scenario', F120, '--map', '198.51.100.2=ghost'])).toEqual({
      code: 2,
      out: '',
      err: 'natt-sim: --map 198.51.100.2=ghost: unknown host "ghost" (hosts: initiator, responder)\n',
    });
  });
});

describe('natt-sim replay: bad input', () => {
  it('a missing capture', async () => {
    const missing = join(dir, 'nope.pcap');
    expect(await runCli(['replay', missing, '--scenario', F20])).toEqual({ code: 2, out: '', err: `natt-sim: ${missing}: no such file\n` });
  });

  it('a file that is not a capture', async () => {
    const f = join(dir, 'text.pcap');
    writeFileSync(f, 'hello, this is not a capture file at all\n');
    const r = await runCli(['replay', f, '--scenario', F20]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(new RegExp(`^natt-sim: ${f}: \\S+: \\S+ at byte 0: `));
  });

  it('a missing scenario, and a bad one: file:line and key', async () => {
    const missing = join(dir, 'nope.yaml');
    expect(await runCli(['replay', keepalives, '--scenario', missing])).toEqual({ code: 2, out: '', err: `natt-sim: ${missing}: no such file\n` });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(F20, 'utf8').replace('kind: pat', 'kind: fancy'));
    const r = await runCli(['replay', keepalives, '--scenario', bad]);
    expect(r).toEqual({
      code: 2,
      out: '',
      err: `natt-sim: ${bad}:18: topology.nats[0].kind: unknown NAT kind "fancy" (expected static, dynamic, pat, twice, cgnat)\n`,
    });
    const badReplay = join(dir, 'bad-replay.yaml');
    writeFileSync(badReplay, `${readFileSync(F20, 'utf8')}replay:\n  start: later\n`);
    const r2 = await runCli(['replay', keepalives, '--scenario', badReplay]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(new RegExp(`^natt-sim: ${badReplay}:\\d+: replay.start: bad duration "later" \\(expected e.g. 0, 2s, 500ms\\)\\n$`));
  });

  it('a capture no scenario host can play', async () => {
    const f = join(dir, 'three.pcap');
    writeFileSync(
      f,
      syntheticCapture([
        { at: 0, kind: 'keepalive', from: '10.9.0.1:4500', to: '198.51.100.2:4500' },
        { at: 1, kind: 'keepalive', from: '10.9.0.2:4500', to: '198.51.100.2:4500' },
      ]),
    );
    const r = await runCli(['replay', f, '--scenario', F20]);
    expect(r).toEqual({
      code: 2,
      out: '',
      err: `natt-sim: ${f}: no scenario host left to play captured address 10.9.0.2 (private, so an inside host with an IPv4 address was needed); map it with --map 10.9.0.2=HOST or replay.map\n`,
    });
  });

  it('a capture cut mid-record: what came before is replayed and written, then one line and exit 2', async () => {
    const whole = syntheticCapture(KEEPALIVE_25S);
    const f = join(dir, 'cut.pcap');
    writeFileSync(f, whole.subarray(0, whole.length - 10));
    const out = join(dir, 'cut');
    const r = await runCli(['replay', f, '--scenario', F20, '--out', out, '--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as ReplayReport;
    expect(report.packets.replayed).toBe(4);
    expect(report.truncated).not.toBeNull();
    expect(r.err).toBe(`natt-sim: ${f}: capture: record at byte ${report.truncated!.offset}: ${report.truncated!.reason} (replayed what came before)\n`);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
  });
});
