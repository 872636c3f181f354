/**
 * Hostile hosts, responder admission settings and the expectations on them in the
 * scenario language: the model they parse into, and one error line (file, line, key
 * path) for each bad value, in the validator and in the JSON Schema.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatIp, formatPrefix } from '../../src/core/addr.ts';
import { formatIssue, loadScenario, parseScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { checkSchema, type Schema } from './json-schema-check.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs/scenario.schema.json'), 'utf8')) as Schema;

function errors(text: string, file = 'lab.yaml'): string[] {
  const r = parseScenario(text, file);
  return r.ok ? [] : r.issues.map(formatIssue);
}

/** A gateway on the Internet, a client, and an attacker host. */
const BASE = [
  'name: hostile', //                                                   1
  'duration: 10s', //                                                   2
  'topology:', //                                                       3
  '  hosts:', //                                                        4
  '    - { name: client, interfaces: [{ name: eth0, address: 192.0.2.10/24 }] }', // 5
  '    - { name: gw, interfaces: [{ name: eth0, address: 192.0.2.1/24 }] }', // 6
  '    - { name: evil, interfaces: [{ name: eth0, address: 192.0.2.66/24 }] }', // 7
  '  routers:', //                                                      8
  '    - { name: hub, interfaces: [{ name: a, address: 192.0.2.254/24 }] }', // 9
  '  links:', //                                                        10
  '    - { name: l1, a: client.eth0, b: hub.a, latency: 1ms }', //       11
  '    - { name: l2, a: gw.eth0, b: hub.a, latency: 1ms }', //           12
  '    - { name: l3, a: evil.eth0, b: hub.a, latency: 1ms }', //         13
  'peers:', //                                                          14
  '  - { name: client, host: client, role: initiator, remote: gw, psk: s, ids: { local: a, remote: b }, start: 1s }', // 15
  '  - name: gw', //                                                    16
  '    host: gw', //                                                    17
  '    role: responder', //                                             18
  '    remote: client', //                                              19
  '    psk: s', //                                                      20
  '    ids: { local: b, remote: a }', //                                21
  '    admission: { cookieThreshold: 5, halfOpenLimit: 8, halfOpenTimeout: 2s }', // 22
  'traffic:', //                                                        23
  '  - { name: ping, kind: ping, from: client, to: gw, at: 3s, count: 3 }', // 24
  'attackers:', //                                                      25
  '  - { name: flood, host: evil, kind: ike-init-flood, target: gw, count: 200, rate: 100, spoof: 198.18.0.0/24, start: 0.5s }', // 26
  '  - { name: esp, host: evil, kind: esp-replay, target: gw, at: 6s, count: 3 }', // 27
  '  - { name: auth, host: evil, kind: ike-forge, target: gw, at: 7s, corrupt: spi }', // 28
  'expectations:', //                                                   29
  '  - { expect: established, peer: client, by: 3s }', //               30
  '  - { expect: cookie-mode, peer: gw, by: 1s }', //                   31
  '  - { expect: admission, peer: gw, counter: halfOpenPeak, count: { max: 6 } }', // 32
  '  - { expect: esp-dropped, peer: gw, reason: replay-duplicate, count: 3 }', // 33
  '  - { expect: ike-dropped, peer: gw, reason: unknown-sa, count: 1 }', // 34
];
const text = (lines: string[]) => `${lines.join('\n')}\n`;
const withLine = (n: number, line: string) => text(BASE.map((l, i) => (i + 1 === n ? line : l)));

describe('attackers, admission and their expectations in the model', () => {
  const s = loadScenario(text(BASE), 'lab.yaml');

  it('parses into typed attackers with defaults filled in', () => {
    const [flood, esp, auth] = s.attackers;
    expect(flood).toMatchObject({ name: 'flood', host: 'evil', kind: 'ike-init-flood', target: { peer: 'gw' }, count: 200, rate: 100, start: 500_000 });
    const f = flood!;
    expect(f.kind === 'ike-init-flood' && f.spoof ? formatPrefix(f.spoof) : '').toBe('198.18.0.0/24');
    expect(esp).toEqual({ name: 'esp', host: 'evil', kind: 'esp-replay', target: { peer: 'gw' }, at: 6_000_000, count: 3, interval: 10_000 });
    expect(auth).toEqual({ name: 'auth', host: 'evil', kind: 'ike-forge', target: { peer: 'gw' }, at: 7_000_000, count: 1, interval: 10_000, exchange: 'ike-auth', message: 'request', corrupt: 'spi' });
    expect(s.peers[1]!.admission).toEqual({ cookieThreshold: 5, halfOpenLimit: 8, halfOpenTimeout: 2_000_000 });
    expect(s.expectations.slice(1)).toEqual([
      { expect: 'cookie-mode', peer: 'gw', by: 1_000_000, value: true },
      { expect: 'admission', peer: 'gw', counter: 'halfOpenPeak', count: { max: 6 } },
      { expect: 'esp-dropped', peer: 'gw', reason: 'replay-duplicate', count: { min: 3, max: 3 } },
      { expect: 'ike-dropped', peer: 'gw', reason: 'unknown-sa', count: { min: 1, max: 1 } },
    ]);
    expect(checkSchema(SCHEMA, parseYaml(text(BASE)))).toEqual([]);
  });

  it('a flood target may be an address:port; the name defaults to host-kind-n', () => {
    const t = loadScenario(withLine(26, '  - { host: evil, kind: ike-init-flood, target: "192.0.2.1:500", count: 5, rate: 10 }'), 'lab.yaml');
    const a = t.attackers[0]!;
    expect(a.name).toBe('evil-ike-init-flood-1');
    expect(a.kind === 'ike-init-flood' && 'endpoint' in a.target ? `${formatIp(a.target.endpoint.addr)}:${a.target.endpoint.port}` : '').toBe('192.0.2.1:500');
    expect(a).not.toHaveProperty('spoof');
  });

  it('runs: the gateway demands COOKIEs, the client still gets in, replays and forgeries are dropped by reason', () => {
    const p = Simulation.prepare(loadScenario(text(BASE), 'lab.yaml'));
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    p.sim.run();
    expect(p.sim.results.map((r) => `${r.ok} ${r.text}`)).toEqual([
      'true client established by 3 s',
      'true gw demands COOKIEs by 1 s',
      'true gw halfOpenPeak at most 6',
      'true gw drops 3 ESP packets (replay-duplicate)',
      'true gw drops 1 IKE datagrams (unknown-sa)',
    ]);
    const gw = p.sim.peers.get('gw')!;
    // cookieThreshold 5 from the scenario (the engine default is 30): the 6th spoofed request got a COOKIE.
    expect(gw.cookieModes[0]).toMatchObject({ on: true, halfOpen: 5, at: 500_000 + 5 * 10_000 + 1_000 * 2 });
    expect(gw.engine.admissionStats).toMatchObject({ dhComputations: 6, cookiesAccepted: 1, cookiesSent: 200 - 5 + 1 });
    expect(p.sim.attackers.map((a) => [a.attacker.name, a.progress.sent, a.progress.missed])).toEqual([
      ['flood', 200, 0],
      ['esp', 3, 0],
      ['auth', 1, 0],
    ]);
    const report = p.sim.report();
    expect(report.peers.find((x) => x.name === 'gw')!.admission).toMatchObject({ halfOpenPeak: 6, cookiesAccepted: 1 });
  });

  it('an expectation that does not hold says what happened', () => {
    const p = Simulation.prepare(loadScenario(withLine(32, '  - { expect: admission, peer: gw, counter: dhComputations, count: { max: 2 } }'), 'lab.yaml'));
    if (!p.ok) throw new Error('not prepared');
    p.sim.run();
    const r = p.sim.results[2]!;
    expect(r).toMatchObject({ ok: false, text: 'gw dhComputations at most 2', line: 32 });
    expect(r.explanation).toMatch(/^dhComputations is 6 \(peak half-open 6, 6 Diffie-Hellman, 196 COOKIEs sent, 1 accepted/);
  });
});

describe('errors: one line each, with file, line and key path', () => {
  const cases: [string, number, string, string[]][] = [
    ['unknown attack kind', 26, '  - { host: evil, kind: smurf, target: gw }', ['lab.yaml:26: attackers[0].kind: unknown attack kind "smurf" (expected ike-init-flood, ike-replay, ike-forge, esp-replay, esp-forge)']],
    ['missing count', 26, '  - { host: evil, kind: ike-init-flood, target: gw, rate: 10 }', ['lab.yaml:26: attackers[0]: kind ike-init-flood needs "count"']],
    ['key of another kind', 27, '  - { host: evil, kind: esp-replay, target: gw, at: 6s, rate: 5 }', ['lab.yaml:27: attackers[1].rate: does not apply to kind esp-replay (it takes target, at, count, interval)']],
    ['zero rate', 26, '  - { host: evil, kind: ike-init-flood, target: gw, count: 5, rate: 0 }', ['lab.yaml:26: attackers[0].rate: the rate must be more than 0 requests per second']],
    ['IPv6 spoof prefix', 26, '  - { host: evil, kind: ike-init-flood, target: gw, count: 5, rate: 5, spoof: "2001:db8::/64" }', ['lab.yaml:26: attackers[0].spoof: spoofed sources must be an IPv4 prefix']],
    ['bad endpoint', 26, '  - { host: evil, kind: ike-init-flood, target: "192.0.2.1:99999", count: 5, rate: 5 }', ['lab.yaml:26: attackers[0].target: bad endpoint "192.0.2.1:99999" (expected address:port, e.g. 10.0.0.5:4500 or [2001:db8::5]:4500)']],
    ['replay of an address', 27, '  - { host: evil, kind: esp-replay, target: "192.0.2.1:4500", at: 6s }', ['lab.yaml:27: attackers[1].target: esp-replay needs a peer as target (it replays what the attacker recorded next to that peer), not "192.0.2.1:4500"']],
    ['unknown target peer', 27, '  - { host: evil, kind: esp-replay, target: gateway, at: 6s }', ['lab.yaml:27: attackers[1].target: no peer named "gateway" (peers: client, gw)']],
    ['attacker on a peer host', 27, '  - { host: gw, kind: esp-replay, target: gw, at: 6s }', ['lab.yaml:27: attackers[1].host: host gw runs peer gw; an attacker needs a host of its own']],
    ['attacker on a router', 27, '  - { host: hub, kind: esp-replay, target: gw, at: 6s }', ['lab.yaml:27: attackers[1].host: "hub" is a router, not a host']],
    ['bad exchange', 28, '  - { host: evil, kind: ike-forge, target: gw, at: 7s, exchange: ike-init }', ['lab.yaml:28: attackers[2].exchange: unknown exchange "ike-init" (expected ike-sa-init, ike-auth, create-child-sa, informational)']],
    ['bad duration', 28, '  - { host: evil, kind: ike-replay, target: gw, at: soon }', ['lab.yaml:28: attackers[2].at: bad duration "soon" (expected a number of seconds or a number with a unit: 250ms, 20s, 5m, 2h)']],
    ['duplicate attacker name', 27, '  - { name: flood, host: evil, kind: esp-replay, target: gw, at: 6s }', ['lab.yaml:27: attackers[1].name: duplicate attacker name "flood"']],
    ['admission on an initiator', 15, '  - { name: client, host: client, role: initiator, remote: gw, psk: s, ids: { local: a, remote: b }, admission: { cookieThreshold: 1 } }', ['lab.yaml:15: peers[0].admission: applies to responders only (the engine admits IKE_SA_INIT requests it answers)']],
    ['admission value', 22, '    admission: { cookieThreshold: -1 }', ['lab.yaml:22: peers[1].admission.cookieThreshold: -1 is out of range (0..10000000)']],
    ['admission key', 22, '    admission: { cookieLimit: 3 }', ['lab.yaml:22: peers[1].admission.cookieLimit: unknown key "cookieLimit" (expected one of: cookieThreshold, cookieCalmdown, blockThreshold, halfOpenLimit, halfOpenTimeout, cookieSecretUses, cookieSecretLifetime)']],
    ['unknown counter', 32, '  - { expect: admission, peer: gw, counter: cookies, count: 1 }', ['lab.yaml:32: expectations[2].counter: unknown admission counter "cookies" (expected halfOpen, halfOpenPeak, dhComputations, cookiesSent, cookiesAccepted, cookiesInvalid, blockedPerPeer, overLimit, cookieSecretRotations)']],
    ['admission without count', 32, '  - { expect: admission, peer: gw, counter: halfOpenPeak }', ['lab.yaml:32: expectations[2]: expect: admission needs "count"']],
    ['admission of an initiator', 32, '  - { expect: admission, peer: client, counter: halfOpenPeak, count: 0 }', ['lab.yaml:32: expectations[2].peer: client is an initiator; expect: admission applies to responders']],
    ['bad IKE drop reason', 34, '  - { expect: ike-dropped, peer: gw, reason: replay-duplicate }', [expect.stringMatching(/^lab\.yaml:34: expectations\[4\]\.reason: unknown IKE drop reason "replay-duplicate" \(expected malformed, decode-error, /) as unknown as string]],
    ['bad ESP drop reason', 33, '  - { expect: esp-dropped, peer: gw, reason: integrity }', [expect.stringMatching(/^lab\.yaml:33: expectations\[3\]\.reason: unknown ESP drop reason "integrity" \(expected .*replay-duplicate/) as unknown as string]],
  ];
  for (const [what, line, replacement, want] of cases) {
    it(what, () => {
      expect(errors(withLine(line, replacement))).toEqual(want);
    });
  }

  it('the JSON Schema rejects the shape errors too', () => {
    for (const [line, replacement] of [
      [26, '  - { host: evil, kind: smurf, target: gw }'],
      [27, '  - { host: evil, kind: esp-replay, target: gw, at: 6s, colour: red }'],
      [22, '    admission: { cookieLimit: 3 }'],
      [32, '  - { expect: admission, peer: gw, counter: cookies, count: 1 }'],
      [28, '  - { host: evil, kind: ike-forge, target: gw, at: 7s, corrupt: everything }'],
    ] as const) {
      const bad = withLine(line, replacement);
      expect(errors(bad)).toHaveLength(1);
      expect(checkSchema(SCHEMA, parseYaml(bad)).length, replacement).toBeGreaterThan(0);
    }
  });
});
