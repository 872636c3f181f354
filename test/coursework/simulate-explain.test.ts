/**
 * `simulate --explain` and `simulate --diagram`: the run's taps go through the capture
 * analyser and timeline (the narrative and ladder of `analyze`), with the simulator's
 * own steps added. The facts checked come from elsewhere: NAT-D hashes recomputed with
 * ikev2/natd.ts from the SPIs the peers recorded and the addresses of the scenario
 * and the NAT's mapping events (Simulation.natEvents), keepalive times from the
 * peer's records, columns from the scenario's peers, NATs and taps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEndpoint } from '../../src/core/addr.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { natdHash } from '../../src/ikev2/natd.ts';
import { ARROW_STYLE, PARTICIPANT_KIND, type Ladder } from '../../src/analysis/ladder.ts';
import { renderNarrative } from '../../src/cli/explain.ts';
import { renderMermaid } from '../../src/cli/diagram/mermaid.ts';
import { renderSvg } from '../../src/cli/diagram/svg.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { explainRun, RunRecorder, type RunViews } from '../../src/sim/run-explain.ts';
import { countColour, decodePng } from './png.ts';
import { CHROMIUM, chromiumScreenshot } from './chromium.ts';
import { ROOT, runCli } from './support.ts';

const SCENARIOS = join(ROOT, 'fixtures/scenarios');
const ZERO_SPI = new Uint8Array(8);

interface Run {
  readonly sim: Simulation;
  readonly views: RunViews;
  readonly text: string;
  /** Step lines without their number: "[t s] actor: text". */
  readonly steps: string[];
}

function simulate(name: string): Run {
  const file = join(SCENARIOS, `${name}.yaml`);
  const parsed = parseScenario(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(`${name}: ${parsed.issues[0]!.message}`);
  const prepared = Simulation.prepare(parsed.scenario);
  if (!prepared.ok) throw new Error(`${name}: ${prepared.issues[0]!.message}`);
  const sim = prepared.sim;
  const rec = new RunRecorder(sim);
  sim.run();
  const views = explainRun(sim, rec);
  const text = renderNarrative(views.narrative);
  const steps = text.split('\n').flatMap((l) => {
    const m = /^ ?\d+\. (.*)$/.exec(l);
    return m ? [m[1]!] : [];
  });
  return { sim, views, text, steps };
}

/** The detail lines under the first step whose line contains `needle`. */
function detailOf(text: string, needle: string): string[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^ ?\d+\. /.test(l) && l.includes(needle));
  expect(i, needle).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (let j = i + 1; j < lines.length && /^ {6}/.test(lines[j]!); j++) out.push(lines[j]!.trim());
  return out;
}

const hash = (spiI: string, spiR: Uint8Array, ep: string) => toHex(natdHash(fromHex(spiI), spiR, parseEndpoint(ep)));
const secs = (us: number) => `${(us / 1e6).toFixed(3)} s`;

/** The NAT's own mapping events (Simulation.natEvents, "udp A ⇄ B"), as [nat, inside, outside]. */
function natMappings(sim: Simulation): [string, string, string][] {
  return sim.natEvents.flatMap((e) => {
    const m = e.kind === 'created' && e.mapping ? /^udp (\S+) ⇄ (\S+)/.exec(e.mapping) : null;
    return m ? [[e.nat, m[1]!, m[2]!] as [string, string, string]] : [];
  });
}

/** A structural reading of Mermaid sequenceDiagram text: participants, messages and notes. */
function parseMermaid(text: string) {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('sequenceDiagram');
  const participants = new Map<string, string>();
  const messages: { from: string; arrow: string; to: string; text: string }[] = [];
  const notes: { over: string[]; text: string }[] = [];
  for (const l of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^ {4}title (.+)$/.exec(l))) continue;
    if ((m = /^ {4}participant (\w+) as (.+)$/.exec(l))) {
      expect(participants.has(m[1]!), `participant ${m[1]} declared twice`).toBe(false);
      participants.set(m[1]!, m[2]!);
      continue;
    }
    if ((m = /^ {4}(\w+)(->>|--\)|-\)|-x)(\w+): (.+)$/.exec(l))) {
      messages.push({ from: m[1]!, arrow: m[2]!, to: m[3]!, text: m[4]! });
      continue;
    }
    if ((m = /^ {4}Note over (\w+)(?:,(\w+))?: (.+)$/.exec(l))) {
      notes.push({ over: [m[1]!, ...(m[2] ? [m[2]] : [])], text: m[3]! });
      continue;
    }
    throw new Error(`not a sequenceDiagram statement: ${l}`);
  }
  for (const x of [...messages.flatMap((m) => [m.from, m.to]), ...notes.flatMap((n) => n.over)]) expect(participants.has(x), x).toBe(true);
  for (const t of [...messages.map((m) => m.text), ...notes.map((n) => n.text)]) expect(t).not.toMatch(/[;#](?!\d+;)/);
  return { participants, messages, notes };
}

/** Titles of the columns a scenario should have: its peers, the NATs and taps on the path. */
const titles = (l: Ladder) => l.participants.map((p) => p.title);

describe('simulate --explain on nat-rw (initiator behind a home PAT)', () => {
  let r: Run;
  let spiI: string;
  let spiR: string;
  let port500: string;
  let port4500: string;
  beforeAll(() => {
    r = simulate('nat-rw');
    const sa = r.sim.peers.get('client')!.currentSa()!;
    spiI = sa.spiI;
    spiR = sa.spiR;
    const maps = natMappings(r.sim);
    expect(maps.map(([nat, inside]) => [nat, inside])).toEqual([
      ['home-router', '10.0.0.2:500'],
      ['home-router', '10.0.0.2:4500'],
    ]);
    port500 = maps[0]![2];
    port4500 = maps[1]![2];
    expect(port500).toMatch(/^203\.0\.113\.2:\d+$/);
  });

  it('starts with the run, its captures and the SA', () => {
    const head = r.text.split('\n');
    expect(head[0]).toBe('What happened in simulation nat-rw (seed 42)');
    expect(head.slice(1, 5)).toEqual([
      expect.stringMatching(/^capture 0: lan: \d+ frames/),
      expect.stringMatching(/^capture 1: wan: /),
      expect.stringMatching(/^capture 2: home-inside: /),
      expect.stringMatching(/^capture 3: home-outside: /),
    ]);
    expect(head).toContain(`IKE SA #0: IKEv2, SPIi ${spiI}, SPIr ${spiR}; initiator 10.0.0.2:500, responder 198.51.100.10:500`);
    expect(head).toContain('Times are seconds from the start of the run.');
  });

  it("gives each NAT-D hash with its inputs, equal to SHA-1 over the run's SPIs and endpoints", () => {
    const srcI = hash(spiI, ZERO_SPI, '10.0.0.2:500');
    const dstI = hash(spiI, ZERO_SPI, '198.51.100.10:500');
    const srcR = hash(spiI, fromHex(spiR), '198.51.100.10:500');
    const dstR = hash(spiI, fromHex(spiR), port500);
    const step = (kind: string, h: string, who: string, dir: string) =>
      r.steps.find((s) => s.includes(`${who}: ${kind} = ${h}: the ${who}'s SHA-1 over SPIi | SPIr | IP | port of the address:port it sends ${dir}.`));
    expect(step('NAT_DETECTION_SOURCE_IP', srcI, 'initiator', 'from')).toBeDefined();
    expect(step('NAT_DETECTION_DESTINATION_IP', dstI, 'initiator', 'to')).toBeDefined();
    expect(step('NAT_DETECTION_SOURCE_IP', srcR, 'responder', 'from')).toBeDefined();
    expect(step('NAT_DETECTION_DESTINATION_IP', dstR, 'responder', 'to')).toBeDefined();

    // The comparisons: the inside capture sees the initiator's own address (a match), the
    // outside one the NAT's (no match); the responder hashed the NAT's address:port.
    const hex = (ep: string) => {
      const e = parseEndpoint(ep);
      return `${toHex(e.addr.bytes)} | ${e.port.toString(16).padStart(4, '0')}`;
    };
    const src = detailOf(r.text, `NAT_DETECTION_SOURCE_IP = ${srcI}`);
    expect(src).toContain(`In lan, compared with the packet's source 10.0.0.2:500: SHA-1(${spiI} | 0000000000000000 | ${hex('10.0.0.2:500')}) = ${srcI}, a match.`);
    expect(src).toContain(
      `In wan, compared with the packet's source ${port500}: SHA-1(${spiI} | 0000000000000000 | ${hex(port500)}) = ${hash(spiI, ZERO_SPI, port500)}, no match (translated).`,
    );
    const dst = detailOf(r.text, `NAT_DETECTION_DESTINATION_IP = ${dstR}`);
    expect(dst).toContain(`In wan, compared with the packet's destination ${port500}: SHA-1(${spiI} | ${spiR} | ${hex(port500)}) = ${dstR}, a match.`);
    expect(dst).toContain(`The carried hash is the one over ${port500}.`);
    expect(r.steps).toContainEqual(expect.stringMatching(/both peers: NAT detection result: the initiator is behind NAT, the responder is not\.$/));
    // Each peer's own comparison, from its log.
    expect(r.steps).toContainEqual(
      expect.stringContaining(`client: NAT_DETECTION_DESTINATION_IP ${dstR.slice(0, 8)}… did not match SHA-1(SPIi | SPIr | 10.0.0.2:500) = ${hash(spiI, fromHex(spiR), '10.0.0.2:500').slice(0, 8)}…`),
    );
  });

  it('tells the float after the NAT-D verdict, on the new port pair', () => {
    const verdict = r.steps.findIndex((s) => s.includes('NAT detection result'));
    const float = r.steps.findIndex((s) => s.includes('The float:'));
    expect(verdict).toBeGreaterThanOrEqual(0);
    expect(float).toBeGreaterThan(verdict);
    expect(r.steps[float]).toMatch(/^\[0\.0\d\d s\] initiator: The float: the initiator sends IKE_AUTH request on the NAT-T port pair, 10\.0\.0\.2:4500 → 198\.51\.100\.10:4500 \(lan frame 3\)\.$/);
    expect(detailOf(r.text, 'The float:')).toContain(
      `The NAT gave the new flow its own mapping: the initiator's port 500 appeared as ${port500} and its port 4500 appears as ${port4500} in wan. The peer answers to whatever address:port the message came from.`,
    );
    expect(r.steps).toContainEqual(expect.stringMatching(/client: floats IKE from 10\.0\.0\.2:500 ↔ 198\.51\.100\.10:500 to 10\.0\.0\.2:4500 ↔ 198\.51\.100\.10:4500/));
  });

  it('tells each translation with the inside and outside address:port the NAT recorded', () => {
    const told = r.steps.filter((s) => s.includes('NAT home-router: NAT home-router (pat) translated'));
    expect(told).toEqual([
      expect.stringContaining(`translated IKE_SA_INIT request 10.0.0.2:500 → 198.51.100.10:500: the source 10.0.0.2:500 became ${port500}. New udp mapping 10.0.0.2:500 ⇄ ${port500}.`),
      expect.stringContaining(`translated IKE_AUTH request 10.0.0.2:4500 → 198.51.100.10:4500: the source 10.0.0.2:4500 became ${port4500}. New udp mapping 10.0.0.2:4500 ⇄ ${port4500}.`),
    ]);
    expect(detailOf(r.text, 'translated IKE_SA_INIT request')).toEqual([
      `Before: 10.0.0.2:500 → 198.51.100.10:500; after: ${port500} → 198.51.100.10:500.`,
      `The port changed too (500 → ${port500.split(':')[1]}): a NAT that shares its public address among many inside hosts picks a free port for each flow (ports: random, 49152-65535).`,
      `Packets back to ${port500} are sent on to 10.0.0.2:500 while the mapping lasts: it expires after 120 s without traffic, mapping behaviour endpoint-independent, filtering address-and-port-dependent.`,
      `NAT home-router: 10.0.0.2:500 → ${port500} (new mapping, endpoint-independent, expires in 120 s)`,
    ]);
    // The inferred translation steps of `analyze` are replaced by the NAT's own.
    expect(r.steps.some((s) => s.includes('NAT: The NAT in front of'))).toBe(false);
  });

  it('says why keepalives start, who sends them and how often', () => {
    const client = r.sim.peers.get('client')!;
    const ks = client.keepalives;
    expect(ks.length).toBeGreaterThanOrEqual(8);
    const line = r.steps.find((s) => s.includes('client: client sends NAT-keepalives'))!;
    expect(line).toBe(
      `[${secs(ks[0]!.at)}] client: client sends NAT-keepalives because its NAT-D check found it behind a NAT (NAT_HERE), and only the side behind a NAT has a mapping to keep alive (RFC 3948 §4): one 0xFF byte from 10.0.0.2:4500 to 198.51.100.10:4500 after every 20 s of silence on that socket (keepalive: 20 s); ${ks.length} keepalives, the first at ${secs(ks[0]!.at)}.`,
    );
    const gaps = ks.slice(1).map((k, i) => k.at - ks[i]!.at);
    const d = detailOf(r.text, 'client sends NAT-keepalives');
    expect(d[0]).toBe('The first went out when client had sent nothing from 10.0.0.2:4500 for 20 s.');
    expect(d[1]).toContain(`apart: longer than 20 s whenever other packets client sent on the socket (DPD checks, ESP, IKE) restarted the silence.`);
    expect(Math.min(...gaps)).toBeGreaterThan(20e6);
    expect(d).toContain(`They are meant to keep NAT home-router's mapping 10.0.0.2:4500 ⇄ ${port4500} alive: its timeout is 120 s, longer than the 20 s keepalive interval; it did not expire during the run.`);
    expect(d).toContain('server sends none: it is not behind a NAT (no NAT_HERE), so it has no mapping to keep alive.');
    expect(r.sim.peers.get('server')!.keepalives).toEqual([]);
    // The DPD checks that space them 30 s apart are in the story too.
    expect(r.steps.filter((s) => s.includes('client: checks the peer is alive (DPD): nothing received for 30 s')).length).toBeGreaterThanOrEqual(8);
  });

  it('ends with the expectations', () => {
    expect(r.steps.at(-1)).toBe(`expectations: ${r.sim.results.length} passed, 0 failed.`);
  });

  it('draws one column per peer, NAT and tap on the path, arrows carrying the translated address:port', () => {
    const l = r.views.ladder;
    expect(titles(l)).toEqual(['client (initiator)', 'tap lan', 'tap home-inside', 'NAT home-router', 'tap home-outside', 'tap wan', 'server (responder)']);
    expect(l.participants.map((p) => p.kind)).toEqual(['peer', 'tap', 'tap', 'nat', 'tap', 'tap', 'peer']);
    expect(l.participants.length).toBe(r.sim.peers.size + r.sim.scenario.topology.nats.length + r.sim.lab.taps.size);
    const id = (t: string) => l.participants.find((p) => p.title === t)!.id;
    const arrows = l.rows.flatMap((x) => (x.kind === 'arrow' ? [x] : []));
    const init = arrows.filter((a) => a.label === 'IKE_SA_INIT request');
    expect(init.map((a) => [a.from, a.to, a.detail])).toEqual([
      [id('client (initiator)'), id('tap lan'), '10.0.0.2:500 → 198.51.100.10:500'],
      [id('tap lan'), id('tap home-inside'), '10.0.0.2:500 → 198.51.100.10:500'],
      [id('tap home-inside'), id('NAT home-router'), '10.0.0.2:500 → 198.51.100.10:500'],
      [id('NAT home-router'), id('tap home-outside'), `${port500} → 198.51.100.10:500`],
      [id('tap home-outside'), id('tap wan'), `${port500} → 198.51.100.10:500`],
      [id('tap wan'), id('server (responder)'), `${port500} → 198.51.100.10:500`],
    ]);
    const notes = l.rows.flatMap((x) => (x.kind === 'note' && x.over.length === 1 ? [x.text] : []));
    expect(notes).toEqual([`10.0.0.2:500 ↦ ${port500}`, `10.0.0.2:4500 ↦ ${port4500}`, `mapping 10.0.0.2:500 ⇄ ${port500} expired (120 s idle)`]);
    const expiry = l.rows.find((x) => x.kind === 'note' && x.text.startsWith('mapping '))!;
    expect(expiry.at).toBe(r.sim.natEvents.find((e) => e.kind === 'expire')!.at);
    // ESP and keepalives are one run per direction, not one arrow per packet.
    const esp = arrows.filter((a) => a.style === ARROW_STYLE.ESP);
    expect(esp.map((a) => a.label)).toEqual([...Array(6).fill(expect.stringMatching(/^5 × ESP-in-UDP spi 0x[0-9a-f]{8} seq 1–5$/)), ...Array(6).fill(expect.stringMatching(/^5 × ESP-in-UDP/))]);
    const ka = arrows.filter((a) => a.style === ARROW_STYLE.KEEPALIVE);
    expect(ka.length).toBe(6);
    expect(ka[0]!.label).toBe(`${r.sim.peers.get('client')!.keepalives.length} × NAT-keepalive every 30.0 s`);
    expect(ka.at(-1)!.detail).toBe(`${port4500} → 198.51.100.10:4500`);
  });

  it('renders SVG with a box per column and the translated address:port on the arrows', () => {
    const svg = renderSvg(r.views.ladder);
    expect(svg.match(/<rect class="participant"/g)?.length).toBe(7);
    const texts = [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    for (const t of ['client (initiator)', 'tap lan', 'tap home-inside', 'NAT home-router', 'tap home-outside', 'tap wan', 'server (responder)', 'pat 203.0.113.2']) expect(texts, t).toContain(t);
    expect(texts).toContain(`${port500} → 198.51.100.10:500`);
    expect(texts).toContain(`${port4500} → 198.51.100.10:4500`);
    expect(texts).toContain(`10.0.0.2:500 ↦ ${port500}`);
  });

  it('renders Mermaid that parses as a sequenceDiagram with those participants', () => {
    const m = parseMermaid(renderMermaid(r.views.ladder));
    expect([...m.participants.values()]).toEqual([
      'client (initiator)<br/>10.0.0.2',
      'tap lan<br/>link home-lan',
      'tap home-inside<br/>NAT home-router, inside side',
      'NAT home-router<br/>pat 203.0.113.2',
      'tap home-outside<br/>NAT home-router, outside side',
      'tap wan<br/>link uplink',
      'server (responder)<br/>198.51.100.10',
    ]);
    expect(m.messages[3]).toEqual({ from: 'P3', arrow: '->>', to: 'P4', text: `IKE_SA_INIT request<br/>${port500} → 198.51.100.10:500` });
    expect(m.notes).toContainEqual({ over: ['P3'], text: `10.0.0.2:500 ↦ ${port500}` });
    expect(m.messages.filter((x) => x.arrow === '--)').length).toBe(6);
  });
});

describe('simulate --explain on cgnat (home PAT behind a carrier-grade NAT)', () => {
  let r: Run;
  beforeAll(() => {
    r = simulate('cgnat');
  });

  it('tells both translations of each flow, with the NATs’ own inside and outside address:port', () => {
    const maps = natMappings(r.sim);
    expect(maps.map(([n]) => n)).toEqual(['home-router', 'carrier', 'home-router', 'carrier']);
    // Each NAT's outside address:port is the next NAT's inside one.
    expect(maps[1]![1]).toBe(maps[0]![2]);
    expect(maps[3]![1]).toBe(maps[2]![2]);
    expect(maps[0]![1]).toBe('192.168.1.10:500');
    expect(maps[1]![2]).toMatch(/^203\.0\.113\.[23]:\d+$/);
    for (const [nat, inside, outside] of maps) {
      expect(r.steps).toContainEqual(expect.stringContaining(`NAT ${nat}: NAT ${nat} (${nat === 'carrier' ? 'cgnat' : 'pat'}) translated `));
      expect(r.steps).toContainEqual(expect.stringContaining(`the source ${inside} became ${outside}. New udp mapping ${inside} ⇄ ${outside}.`));
    }
    // The responder's DESTINATION hash covers the carrier's address:port, the last translation.
    const sa = r.sim.peers.get('server')!.currentSa()!;
    const dstR = hash(sa.spiI, fromHex(sa.spiR), maps[1]![2]);
    expect(r.steps).toContainEqual(expect.stringContaining(`responder: NAT_DETECTION_DESTINATION_IP = ${dstR}:`));
  });

  it('tells the expiry of the port 500 mapping at the carrier and why it does no harm', () => {
    const maps = natMappings(r.sim);
    const expired = r.sim.natEvents.find((e) => e.kind === 'expire' && e.nat === 'carrier')!;
    expect(expired.at).toBeLessThanOrEqual(31e6);
    const line = r.steps.find((s) => s.includes('NAT carrier forgot'))!;
    expect(line).toBe(`[${secs(expired.at)}] NAT carrier: NAT carrier forgot the udp mapping ${maps[1]![1]} ⇄ ${maps[1]![2]}: 30 s idle.`);
    expect(detailOf(r.text, 'NAT carrier forgot')).toContain('IKE moved to port 4500 at the float, so nothing needs the port 500 mapping any more: its expiry is harmless.');
    expect(r.views.ladder.rows).toContainEqual(expect.objectContaining({ kind: 'note', text: `mapping ${maps[1]![1]} ⇄ ${maps[1]![2]} expired (30 s idle)` }));
  });

  it('names the keepalive sender and follows its flow through both NATs', () => {
    const maps = natMappings(r.sim);
    const ks = r.sim.peers.get('client')!.keepalives;
    const d = detailOf(r.text, 'client sends NAT-keepalives');
    expect(r.steps).toContainEqual(expect.stringContaining(`client: client sends NAT-keepalives because its NAT-D check found it behind a NAT (NAT_HERE)`));
    expect(r.steps).toContainEqual(expect.stringContaining(`one 0xFF byte from 192.168.1.10:4500 to 198.51.100.10:4500 after every 20 s of silence on that socket (keepalive: 20 s); ${ks.length} keepalives, the first at ${secs(ks[0]!.at)}.`));
    expect(d).toContain(`They are meant to keep NAT home-router's mapping 192.168.1.10:4500 ⇄ ${maps[2]![2]} alive: its timeout is 120 s, longer than the 20 s keepalive interval; it did not expire during the run.`);
    expect(d).toContain(`They are meant to keep NAT carrier's mapping ${maps[3]![1]} ⇄ ${maps[3]![2]} alive: its timeout is 30 s, longer than the 20 s keepalive interval; it did not expire during the run.`);
  });

  it('draws both NATs and all four taps in path order', () => {
    expect(titles(r.views.ladder)).toEqual(['client (initiator)', 'tap home-inside', 'NAT home-router', 'tap home-outside', 'tap carrier-inside', 'NAT carrier', 'tap carrier-outside', 'server (responder)']);
    const m = parseMermaid(renderMermaid(r.views.ladder));
    expect(m.participants.size).toBe(8);
    const maps = natMappings(r.sim);
    expect(m.notes.map((n) => n.text)).toEqual(expect.arrayContaining([`192.168.1.10:500 ↦ ${maps[0]![2]}`, `${maps[1]![1]} ↦ ${maps[1]![2]}`]));
  });
});

describe('simulate --explain on no-nat', () => {
  let r: Run;
  beforeAll(() => {
    r = simulate('no-nat');
  });

  it('finds every hash matching, no translation, no float and no keepalives', () => {
    const sa = r.sim.peers.get('left')!.currentSa()!;
    expect(r.steps).toContainEqual(expect.stringContaining(`initiator: NAT_DETECTION_SOURCE_IP = ${hash(sa.spiI, ZERO_SPI, '192.0.2.10:500')}:`));
    expect(r.steps).toContainEqual(expect.stringContaining(`responder: NAT_DETECTION_DESTINATION_IP = ${hash(sa.spiI, fromHex(sa.spiR), '192.0.2.10:500')}:`));
    expect(r.steps).toContainEqual(expect.stringContaining('both peers: NAT detection result: no NAT between the peers; every hash matches the address it was sent with.'));
    expect(r.steps.filter((s) => /\btranslated |The float|NAT-keepalive|forgot/.test(s))).toEqual([]);
    expect(r.steps).toContainEqual(expect.stringMatching(/ESP packets, SPI [0-9a-f]{8}, sequence numbers 1–3, initiator → responder, as IP protocol 50: 192\.0\.2\.10 → 198\.51\.100\.10/));
    expect(titles(r.views.ladder)).toEqual(['left (initiator)', 'tap core-left', 'right (responder)']);
    expect(r.views.ladder.participants.map((p) => p.kind)).toEqual([PARTICIPANT_KIND.PEER, PARTICIPANT_KIND.TAP, PARTICIPANT_KIND.PEER]);
  });
});

describe('drops: their reason and place', () => {
  it('tells what the NAT dropped once its mapping expired (keepalive slower than the NAT timeout)', () => {
    const r = simulate('keepalive-slower-than-nat-timeout');
    const drops = r.steps.filter((s) => / packets? dropped at |\] \S+: Dropped at /.test(s));
    expect(drops.length).toBeGreaterThan(0);
    const first = drops[0]!;
    expect(first).toMatch(/^\[\d+\.\d{3} s\] home-router: \d+ packets dropped at home-router \(no-mapping\), the first: UDP 198\.51\.100\.10:4500 → 203\.0\.113\.2:\d+, /);
    const port = /→ (203\.0\.113\.2:\d+)/.exec(first)![1]!;
    // The mapping it was sent to had expired before.
    const expired = r.sim.natEvents.find((e) => e.kind === 'expire' && e.mapping?.includes(`⇄ ${port}`));
    expect(expired).toBeDefined();
    expect(detailOf(r.text, first.slice(first.indexOf('] ') + 2, first.indexOf('(')))).toContain(`NAT home-router: dropped inbound UDP 198.51.100.10:4500 → ${port}: no mapping for ${port}`);
  });
});

describe('natt-sim simulate --explain --diagram', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'natt-sim-simexplain-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the summary then the narrative, and writes the same ladder as SVG', async () => {
    const svgFile = join(dir, 'nat-rw.svg');
    const cli = await runCli(['simulate', join(SCENARIOS, 'nat-rw.yaml'), '--out', join(dir, 'o1'), '--explain', '--diagram', svgFile]);
    expect([cli.code, cli.err]).toEqual([0, '']);
    const r = simulate('nat-rw');
    expect(cli.out).toContain('expectations: 7 passed, 0 failed\n');
    expect(cli.out.endsWith(`\n${r.text}`)).toBe(true);
    expect(readFileSync(svgFile, 'utf8')).toBe(renderSvg(r.views.ladder));
  });

  it('writes Mermaid for .mmd and refuses other names before running anything', async () => {
    const mmd = join(dir, 'cgnat.mmd');
    const ok = await runCli(['simulate', join(SCENARIOS, 'cgnat.yaml'), '--out', join(dir, 'o2'), '--diagram', mmd]);
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain('What happened');
    expect(readFileSync(mmd, 'utf8')).toBe(renderMermaid(simulate('cgnat').views.ladder));
    const bad = await runCli(['simulate', join(SCENARIOS, 'cgnat.yaml'), '--out', join(dir, 'o3'), '--diagram', join(dir, 'x.png')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(`natt-sim: --diagram: "${join(dir, 'x.png')}": give a file name ending in .svg (SVG) or .mmd (Mermaid)\n`);
    expect(existsSync(join(dir, 'o3'))).toBe(false);
  });

  it.skipIf(!existsSync(CHROMIUM))('renders the nat-rw SVG in headless Chromium: peer, tap and NAT boxes, arrows and text', () => {
    const svg = renderSvg(simulate('nat-rw').views.ladder);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const { res, png } = chromiumScreenshot(dir, 'render', 'profile', svg, width, 900);
    expect(res.status, res.stderr).toBe(0);
    const p = decodePng(readFileSync(png));
    expect([p.width, p.height]).toEqual([width, 900]);
    expect(countColour(p, '#e3ecfa'), 'peer boxes').toBeGreaterThan(4000);
    expect(countColour(p, '#e6f4ea'), 'tap boxes').toBeGreaterThan(8000);
    expect(countColour(p, '#fde2e2'), 'NAT box').toBeGreaterThan(2000);
    expect(countColour(p, '#1f3a93'), 'IKE arrows').toBeGreaterThan(500);
    expect(countColour(p, '#fff8c4'), 'notes').toBeGreaterThan(1000);
    let dark = 0;
    for (let i = 0; i < p.rgba.length; i += 4) if (p.rgba[i]! + p.rgba[i + 1]! + p.rgba[i + 2]! < 150) dark++;
    expect(dark, 'text').toBeGreaterThan(2000);
  });
});
