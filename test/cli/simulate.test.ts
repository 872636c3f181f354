import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulate } from '../../src/cli/simulate.ts';
import { runCli } from '../helpers/cli.ts';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/scenarios');
const tmp = () => mkdtempSync(join(tmpdir(), 'natt-sim-simulate-'));

/** A small valid scenario; the error cases change one line of it. */
const BASE = [
  'name: small', //                                         1
  'duration: 20s', //                                       2
  'topology:', //                                           3
  '  hosts:', //                                            4
  '    - name: client', //                                  5
  '      interfaces: [{ name: eth0, address: 10.0.0.2/24 }]', // 6
  '      routes: [{ to: default, via: 10.0.0.1 }]', //     7
  '    - name: server', //                                  8
  '      interfaces: [{ name: eth0, address: 198.51.100.10/24 }]', // 9
  '  nats:', //                                             10
  '    - name: gw', //                                      11
  '      kind: pat', //                                     12
  '      interfaces:', //                                   13
  '        - { name: lan, address: 10.0.0.1/24 }', //      14
  '        - { name: wan, address: 198.51.100.1/24 }', //  15
  '      inside: lan', //                                   16
  '      outside: wan', //                                  17
  '  links:', //                                            18
  '    - { name: lan, a: client.eth0, b: gw.lan }', //     19
  '    - { name: wan, a: gw.wan, b: server.eth0, latency: 5ms }', // 20
  'peers:', //                                              21
  '  - name: client', //                                    22
  '    host: client', //                                    23
  '    role: initiator', //                                 24
  '    remote: server', //                                  25
  '    psk: secret', //                                     26
  '    ids: { local: a.example, remote: b.example }', //   27
  '    proposals: { ike: aes128gcm16-prfsha256-ecp256 }', // 28
  '  - name: server', //                                    29
  '    host: server', //                                    30
  '    role: responder', //                                 31
  '    remote: client', //                                  32
  '    psk: secret', //                                     33
  '    ids: { local: b.example, remote: a.example }', //   34
  '    proposals: { ike: aes128gcm16-prfsha256-ecp256 }', // 35
  'taps:', //                                               36
  '  - { name: wan, link: wan }', //                       37
  'expectations:', //                                       38
  '  - { expect: established, peer: client, by: 1s }', //  39
  '  - { expect: nat-here, peer: client }', //             40
];
const text = (lines: string[]) => `${lines.join('\n')}\n`;
const withLine = (n: number, line: string) => text(BASE.map((l, i) => (i + 1 === n ? line : l)));

function scenarioFile(content: string): string {
  const f = join(tmp(), 'lab.yaml');
  writeFileSync(f, content);
  return f;
}

describe('natt-sim simulate', () => {
  it('with no scenario runs the built-in default into --out and passes its expectations', async () => {
    const out = join(tmp(), 'out');
    const r = await runCli(['simulate', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^default \(seed 1\): 120 s of virtual time in \d+\.\d\d s wall, \d+ events\n/);
    expect(r.out).toContain('laptop: established at 68 ms, NAT_HERE, floated to 4500, ESP-in-UDP, 5 keepalives');
    expect(r.out).toContain('expectations: 7 passed, 0 failed');
    expect(r.out).toContain(`output: ${out}\n`);
    expect(readdirSync(out).sort()).toEqual(['lan.pcapng', 'report.json', 'summary.txt', 'wan.pcapng', 'wireshark']);
    expect(readdirSync(join(out, 'wireshark')).sort()).toEqual(['esp_sa', 'ikev2_decryption_table', 'preferences']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.scenario).toMatchObject({ name: 'default', seed: 1, duration: 120_000_000 });
    expect(report.result).toMatchObject({ ok: true, passed: 7, failed: 0, virtualTime: 120_000_000 });
    expect(report.peers.map((p: { name: string; conditions: object }) => [p.name, p.conditions])).toEqual([
      ['laptop', { natHere: true, natThere: false, natFake: false }],
      ['gateway', { natHere: false, natThere: true, natFake: false }],
    ]);
    const summary = readFileSync(join(out, 'summary.txt'), 'utf8');
    expect(summary).toContain('=== peer laptop (initiator on host laptop) ===');
    expect(summary).toMatch(/in use settings =\{Tunnel UDP-Encaps, \}/);
    expect(summary).toContain('=== NAT home-router (pat, mapping endpoint-independent, filtering address-and-port-dependent) ===');
    // The pcapng interface is named after the tap.
    expect(Buffer.from(readFileSync(join(out, 'wan.pcapng'))).includes(Buffer.from('wan'))).toBe(true);
  });

  it('without --out makes a fresh natt-sim-out-<scenario>-<seed> directory in the working directory', async () => {
    const cwd = tmp();
    let printed = '';
    const io = { out: (s: string) => void (printed += s), err: () => undefined };
    const a = await runSimulate({ scenario: join(FIXTURES, 'no-nat.yaml'), cwd }, io);
    const b = await runSimulate({ scenario: join(FIXTURES, 'no-nat.yaml'), cwd, seed: 9 }, io);
    const c = await runSimulate({ scenario: join(FIXTURES, 'no-nat.yaml'), cwd }, io);
    expect([a.outDir, b.outDir, c.outDir]).toEqual([join(cwd, 'natt-sim-out-no-nat-1'), join(cwd, 'natt-sim-out-no-nat-9'), join(cwd, 'natt-sim-out-no-nat-1-2')]);
    expect(printed).toContain(`output: ${join(cwd, 'natt-sim-out-no-nat-1-2')}`);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    expect(JSON.parse(readFileSync(join(b.outDir, 'report.json'), 'utf8')).scenario.seed).toBe(9);
  });

  it('exits 1 with one line per failed expectation, naming the file and line', async () => {
    const f = scenarioFile(text([...BASE, '  - { expect: floated, peer: client, value: false }', '  - { expect: keepalives, peer: client, count: 3 }']));
    const out = join(tmp(), 'o');
    const r = await runCli(['simulate', f, '--out', out]);
    expect(r.code).toBe(1);
    const fails = r.out.split('\n').filter((l) => l.startsWith('FAIL '));
    expect(fails).toEqual([
      `FAIL ${f}:41: client does not float to UDP 4500: IKE moved from 10.0.0.2:500 ↔ 198.51.100.10:500 to 10.0.0.2:4500 ↔ 198.51.100.10:4500 at 10 ms`,
      `FAIL ${f}:42: client sends 3 keepalives: client sent no keepalive (it is behind a NAT but its NAT-T socket was never idle for a whole interval)`,
    ]);
    expect(r.out).toContain('expectations: 2 passed, 2 failed');
    expect(existsSync(join(out, 'report.json'))).toBe(true);
  });

  it('--explain tells the story: NAT-D verdict, float, keepalives', async () => {
    const r = await runCli(['simulate', join(FIXTURES, 'nat-rw.yaml'), '--out', join(tmp(), 'o'), '--explain']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('What happened in simulation nat-rw (seed 42)');
    expect(r.out).toMatch(/client: NAT_DETECTION_DESTINATION_IP [0-9a-f]{8}… did not match SHA-1\(SPIi \| SPIr \| 10\.0\.0\.2:500\) = [0-9a-f]{8}… \(the peer hashed 203\.0\.113\.2:\d+, where it saw us\): a NAT rewrote our address/);
    expect(r.out).toContain('client: floats IKE from 10.0.0.2:500 ↔ 198.51.100.10:500 to 10.0.0.2:4500 ↔ 198.51.100.10:4500');
    expect(r.out).toMatch(/\n\d+\. expectations: 7 passed, 0 failed\.\n/);
  });

  describe('bad scenario files: one line naming file:line and key, exit 2', () => {
    const cases: [string, string, RegExp][] = [
      ['syntax error', withLine(14, '        - { name: lan, address: 10.0.0.1/24'), /^natt-sim: .*lab\.yaml:\d+: YAML syntax error: /],
      ['unknown key', withLine(2, 'durration: 20s'), /^natt-sim: .*lab\.yaml:2: durration: unknown key "durration" \(expected one of: name, description, seed, duration, /],
      ['bad address', withLine(6, '      interfaces: [{ name: eth0, address: 10.0.0.300/24 }]'), /^natt-sim: .*lab\.yaml:6: topology\.hosts\[0\]\.interfaces\[0\]\.address: bad address "10\.0\.0\.300\/24"/],
      ['missing peer', withLine(25, '    remote: srv'), /^natt-sim: .*lab\.yaml:25: peers\[0\]\.remote: no peer named "srv" \(peers: client, server\)$/],
      ['unknown NAT kind', withLine(12, '      kind: fancy'), /^natt-sim: .*lab\.yaml:12: topology\.nats\[0\]\.kind: unknown NAT kind "fancy" \(expected static, dynamic, pat, twice, cgnat\)$/],
      ['a proposal the engine refuses', withLine(28, '    proposals: { ike: aes128gcm16-prfsha256-bogus }'), /^natt-sim: .*lab\.yaml:28: peers\[0\]\.proposals\.ike: .*bogus/],
      ['two peers on one host', withLine(30, '    host: client'), /^natt-sim: .*lab\.yaml:30: peers\[1\]\.host: host client already runs peer client; one peer per host$/],
    ];
    for (const [what, content, want] of cases) {
      it(what, async () => {
        const f = scenarioFile(content);
        const r = await runCli(['simulate', f, '--out', join(tmp(), 'o')]);
        expect(r.code).toBe(2);
        expect(r.out).toBe('');
        expect(r.err.endsWith('\n')).toBe(true);
        expect(r.err.trimEnd().split('\n')).toHaveLength(1);
        expect(r.err.trimEnd()).toMatch(want);
      });
    }

    it('a missing file and a bad seed are one line and exit 2 too', async () => {
      const a = await runCli(['simulate', '/nonexistent/lab.yaml']);
      expect([a.code, a.err]).toEqual([2, 'natt-sim: /nonexistent/lab.yaml: no such file\n']);
      const b = await runCli(['simulate', '--seed', '-3', '--out', join(tmp(), 'o')]);
      expect([b.code, b.err]).toEqual([2, 'natt-sim: --seed must be an integer 0..4294967295, got -3\n']);
    });
  });
});
