import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatIp, formatPrefix } from '../../src/core/addr.ts';
import { formatIssue, loadScenario, parseScenario, ScenarioError } from '../../src/sim/scenario.ts';
import { SCENARIO_KEYS } from '../../src/sim/scenario-schema.ts';
import { checkSchema, type Schema } from './json-schema-check.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'fixtures/scenarios');
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs/scenario.schema.json'), 'utf8')) as Schema;
const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort();
const HOSTILE = join(ROOT, 'fixtures/hostile');
const hostileFiles = readdirSync(HOSTILE).filter((f) => f.endsWith('.yaml')).sort();

function errors(text: string, file = 'lab.yaml'): string[] {
  const r = parseScenario(text, file);
  return r.ok ? [] : r.issues.map(formatIssue);
}

/** A minimal valid scenario; cases below change one line of it. */
const BASE = [
  'name: small', //                                  1
  'duration: 30s', //                                2
  'topology:', //                                    3
  '  hosts:', //                                     4
  '    - name: client', //                           5
  '      interfaces:', //                            6
  '        - { name: eth0, address: 10.0.0.2/24 }', // 7
  '      routes: [{ to: default, via: 10.0.0.1 }]', // 8
  '    - name: server', //                           9
  '      interfaces: [{ name: eth0, address: 198.51.100.10/24 }]', // 10
  '  nats:', //                                      11
  '    - name: gw', //                               12
  '      kind: pat', //                              13
  '      interfaces:', //                            14
  '        - { name: lan, address: 10.0.0.1/24 }', // 15
  '        - { name: wan, address: 198.51.100.1/24 }', // 16
  '      inside: lan', //                            17
  '      outside: wan', //                           18
  '      timeouts: { udp: 90s }', //                 19
  '  links:', //                                     20
  '    - { name: lan, a: client.eth0, b: gw.lan }', // 21
  '    - { name: wan, a: gw.wan, b: server.eth0, latency: 5ms }', // 22
  'peers:', //                                       23
  '  - name: client', //                             24
  '    host: client', //                             25
  '    role: initiator', //                          26
  '    remote: server', //                           27
  '    psk: secret', //                              28
  '    ids: { local: a, remote: b }', //             29
  '  - name: server', //                             30
  '    host: server', //                             31
  '    role: responder', //                          32
  '    remote: client', //                           33
  '    psk: secret', //                              34
  '    ids: { local: b, remote: a }', //             35
];
const text = (lines: string[]) => `${lines.join('\n')}\n`;
const withLine = (n: number, line: string) => text(BASE.map((l, i) => (i + 1 === n ? line : l)));

describe('scenario fixtures', () => {
  it('there are fixtures to check', () => {
    expect(fixtureFiles).toEqual([
      'cgnat.yaml',
      'double-nat.yaml',
      'force-encap.yaml',
      'ipsec-passthrough.yaml',
      'ipv6-no-nat.yaml',
      'keepalive-faster-than-nat-timeout.yaml',
      'keepalive-slower-than-nat-timeout.yaml',
      'lossy-link.yaml',
      'nat-reboot.yaml',
      'nat-rw.yaml',
      'nat-t-disabled.yaml',
      'no-nat.yaml',
      'static-nat.yaml',
      'twice-nat.yaml',
      'two-clients-one-nat.yaml',
    ]);
  });

  for (const f of fixtureFiles) {
    it(`${f} passes the validator and the JSON Schema`, () => {
      const src = readFileSync(join(FIXTURES, f), 'utf8');
      expect(errors(src, f)).toEqual([]);
      expect(checkSchema(SCHEMA, parseYaml(src))).toEqual([]);
    });
  }

  it('the hostile fixtures pass the validator and the JSON Schema', () => {
    expect(hostileFiles).toEqual(['init-flood.yaml']);
    for (const f of hostileFiles) {
      const src = readFileSync(join(HOSTILE, f), 'utf8');
      expect(errors(src, f)).toEqual([]);
      expect(checkSchema(SCHEMA, parseYaml(src))).toEqual([]);
    }
  });

  it('the base scenario of these tests is valid', () => {
    expect(errors(text(BASE))).toEqual([]);
    expect(checkSchema(SCHEMA, parseYaml(text(BASE)))).toEqual([]);
  });
});

describe('JSON Schema and validator stay in step', () => {
  it('every key table has a $defs entry with exactly those properties', () => {
    const defs = SCHEMA.$defs as Record<string, Schema>;
    for (const [table, keys] of Object.entries(SCENARIO_KEYS)) {
      const props = table === 'scenario' ? (SCHEMA.properties as object) : (defs[table]?.properties as object | undefined);
      expect(props, `$defs.${table}`).toBeDefined();
      expect(Object.keys(props!).sort(), table).toEqual([...keys].sort());
      if (table !== 'scenario') expect(defs[table]!.additionalProperties, table).toBe(false);
    }
    expect(SCHEMA.additionalProperties).toBe(false);
  });

  it('docs/scenario-reference.md names every key', () => {
    const doc = readFileSync(join(ROOT, 'docs/scenario-reference.md'), 'utf8').replace(/```[\s\S]*?```/g, '');
    const words = new Set([...doc.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(/[^A-Za-z0-9-]+/)));
    const missing = Object.values(SCENARIO_KEYS).flat().filter((k) => !words.has(k));
    expect(missing).toEqual([]);
  });

  it('the schema rejects the shape errors the validator rejects', () => {
    const bad = [withLine(13, '      kind: fancy'), withLine(19, '      timeouts: { udp: 2 minutes }'), withLine(19, '      colour: blue')];
    for (const b of bad) {
      expect(errors(b)).toHaveLength(1);
      expect(checkSchema(SCHEMA, parseYaml(b)).length).toBeGreaterThan(0);
    }
  });
});

describe('scenario errors: one line each, with file, line and key path', () => {
  it('YAML syntax error', () => {
    expect(errors(withLine(8, '      routes: [{ to: default, via: 10.0.0.1 }'))).toEqual([
      'lab.yaml:9: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('unknown key', () => {
    expect(errors(withLine(19, '      colour: blue'))).toEqual([
      'lab.yaml:19: topology.nats[0].colour: unknown key "colour" (expected one of: name, kind, interfaces, routes, inside, outside, external, mapping, filtering, ports, timeouts, refresh, hairpinning, maxMappings, maxMappingsPerHost, espAlg, static, forwards, destinations, subscribers, icmpErrors)',
    ]);
  });

  it('bad address', () => {
    expect(errors(withLine(7, '        - { name: eth0, address: 10.0.0.300/24 }'))).toEqual([
      'lab.yaml:7: topology.hosts[0].interfaces[0].address: bad address "10.0.0.300/24" (expected an address with a prefix length, e.g. 10.0.0.2/24)',
    ]);
    expect(errors(withLine(8, '      routes: [{ to: default, via: 10.0.0 }]'))).toEqual([
      'lab.yaml:8: topology.hosts[0].routes[0].via: bad address "10.0.0" (expected an IP address, e.g. 192.0.2.1 or 2001:db8::1)',
    ]);
  });

  it('missing peer reference', () => {
    expect(errors(withLine(27, '    remote: srv'))).toEqual(['lab.yaml:27: peers[0].remote: no peer named "srv" (peers: client, server)']);
  });

  it('unknown NAT kind', () => {
    expect(errors(withLine(13, '      kind: fancy'))).toEqual([
      'lab.yaml:13: topology.nats[0].kind: unknown NAT kind "fancy" (expected static, dynamic, pat, twice, cgnat)',
    ]);
  });

  it('bad duration', () => {
    expect(errors(withLine(19, '      timeouts: { udp: 2 minutes }'))).toEqual([
      'lab.yaml:19: topology.nats[0].timeouts.udp: bad duration "2 minutes" (expected a number of seconds or a number with a unit: 250ms, 20s, 5m, 2h)',
    ]);
  });

  it('more reference and shape errors', () => {
    expect(errors(withLine(21, '    - { name: lan, a: client.eth1, b: gw.lan }'))).toEqual(['lab.yaml:21: topology.links[0].a: client has no interface "eth1" (interfaces: eth0)']);
    expect(errors(withLine(25, '    host: gw'))).toEqual(['lab.yaml:25: peers[0].host: "gw" is a nat, not a host']);
    expect(errors(withLine(18, '      outside: wlan'))).toEqual(['lab.yaml:18: topology.nats[0].outside: "wlan" is not an interface of gw (interfaces: lan, wan)']);
    expect(errors(withLine(19, '      destinations: [{ match: 192.168.1.1, to: 198.51.100.10 }]'))).toEqual([
      'lab.yaml:19: topology.nats[0].destinations: does not apply to a pat NAT (only twice)',
    ]);
    expect(errors(withLine(28, '    proposal: aes'))).toEqual([
      'lab.yaml:24: peers[0]: missing required key "psk"',
      'lab.yaml:28: peers[0].proposal: unknown key "proposal" (expected one of: name, host, role, address, remote, remoteAddress, psk, ids, proposals, encap, keepalive, dpd, rekey, retransmit, ts, start, admission)',
    ]);
    expect(errors(text([...BASE, 'events:', '  - { at: 10s, action: nat-reboot }']))).toEqual(['lab.yaml:37: events[0]: action nat-reboot needs "nat"']);
    expect(errors(text([...BASE, 'expectations:', '  - { expect: floated, peer: client, traffic: x }']))).toEqual([
      'lab.yaml:37: expectations[0].traffic: does not apply to expect: floated (it takes peer, value)',
    ]);
    expect(errors(text([...BASE, 'taps:', '  - { name: t, link: wan, nat: gw }']))).toEqual(['lab.yaml:37: taps[0]: a tap needs exactly one of "link" or "nat"']);
    expect(errors(text([...BASE, 'seed: -1']))).toEqual(['lab.yaml:36: seed: -1 is out of range (0..4294967295)']);
  });

  it('loadScenario throws a ScenarioError carrying the issues', () => {
    expect.assertions(3);
    try {
      loadScenario(withLine(13, '      kind: fancy'), 'x.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      expect((e as ScenarioError).issues).toHaveLength(1);
      expect((e as ScenarioError).message).toMatch(/^x\.yaml:13: /);
    }
  });
});

describe('the scenario model', () => {
  it('nat-rw: durations in µs, defaults filled in, NAT taps expanded', () => {
    const s = loadScenario(readFileSync(join(FIXTURES, 'nat-rw.yaml'), 'utf8'), 'nat-rw.yaml');
    expect(s.seed).toBe(42);
    expect(s.duration).toBe(300_000_000);
    const nat = s.topology.nats[0]!;
    expect(nat).toMatchObject({
      name: 'home-router',
      kind: 'pat',
      inside: ['lan'],
      outside: 'wan',
      mapping: 'endpoint-independent',
      filtering: 'address-and-port-dependent',
      ports: { assignment: 'random', range: { from: 49152, to: 65535 }, parity: false },
      timeouts: { udp: 120_000_000, icmp: 60_000_000, esp: 120_000_000 },
      refresh: 'outbound',
      hairpinning: true,
      espAlg: false,
    });
    expect(nat.interfaces.map((i) => `${i.name} ${i.addresses.map(formatPrefix).join(',')}`)).toEqual(['lan 10.0.0.1/24', 'wan 203.0.113.2/24']);
    expect(s.topology.links[1]).toMatchObject({ name: 'uplink', latency: 10_000, mtu: 1500, faults: { jitter: 2_000, loss: 0 } });
    expect(s.topology.hosts[0]!.routes[0]!.to.map(formatPrefix)).toEqual(['0.0.0.0/0', '::/0']);
    expect(formatIp(s.topology.hosts[0]!.routes[0]!.via!)).toBe('10.0.0.1');
    const client = s.peers[0]!;
    expect(client).toMatchObject({ role: 'initiator', remote: 'server', encap: 'auto', keepalive: 20_000_000, start: 0 });
    expect(client.proposals).toEqual({ ike: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'] });
    expect(client.dpd).toEqual({ delay: 30_000_000, action: 'restart' });
    expect(s.peers[1]!.proposals.ike).toEqual(['aes256-sha256-modp2048', 'aes128-sha256-ecp256']);
    expect(s.taps).toEqual([
      { name: 'lan', link: 'home-lan' },
      { name: 'wan', link: 'uplink' },
      { name: 'home-inside', nat: 'home-router', side: 'inside' },
      { name: 'home-outside', nat: 'home-router', side: 'outside' },
    ]);
    expect(s.traffic[0]).toMatchObject({ name: 'ping-server', kind: 'ping', from: 'client', to: { host: 'server' }, at: 10_000_000, count: 5, interval: 1_000_000, size: 56 });
    expect(s.expectations).toEqual([
      { expect: 'established', peer: 'client', by: 2_000_000, value: true },
      { expect: 'nat-here', peer: 'client', value: true },
      { expect: 'nat-there', peer: 'server', value: true },
      { expect: 'floated', peer: 'client', value: true },
      { expect: 'encapsulation', peer: 'client', value: 'udp' },
      { expect: 'keepalives', peer: 'client', count: { min: 8 }, interval: { min: 20_000_000, max: 31_000_000 } },
      { expect: 'delivered', traffic: 'ping-server', count: { min: 5, max: 5 } },
    ]);
  });
});
