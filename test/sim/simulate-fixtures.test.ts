/**
 * Every scenario in fixtures/scenarios runs with its IPsec peers and meets its own
 * expectations; the captures of every run dissect in tshark without a malformed packet
 * and decrypt with the keys the run emitted; runs are deterministic; a 24-virtual-hour
 * run takes seconds.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Simulation } from '../../src/sim/simulation.ts';
import { captures, fixtureNames, simulateFixture } from './sim-kit.ts';

const run = promisify(execFile);
const tsharkVersion = await run('tshark', ['--version']).then(
  (r) => r.stdout.split('\n')[0] ?? 'tshark',
  () => undefined,
);

const names = fixtureNames();
const sims = new Map<string, Simulation>();
const wallMs = new Map<string, number>();

beforeAll(() => {
  for (const n of names) {
    const t0 = performance.now();
    sims.set(n, simulateFixture(n));
    wallMs.set(n, performance.now() - t0);
  }
});

describe('every fixture meets its expectations', () => {
  it('there are fifteen fixtures, each with expectations', () => {
    expect(names).toHaveLength(15);
    for (const n of names) expect(sims.get(n)!.scenario.expectations.length, n).toBeGreaterThan(0);
  });

  for (const n of names) {
    it(n, () => {
      const sim = sims.get(n)!;
      const failed = sim.results.filter((r) => !r.ok).map((r) => `${r.text}: ${r.explanation}`);
      expect(failed).toEqual([]);
      expect(sim.lab.network.now).toBe(sim.scenario.duration);
      for (const r of sim.results) expect(r.explanation.length, r.text).toBeGreaterThan(0);
    });
  }
});

describe('what the fixtures show', () => {
  it('nat-t-disabled: IKE works on 500, the raw ESP dies at the PAT, and the report says why', () => {
    const sim = sims.get('nat-t-disabled')!;
    const report = sim.report();
    const ping = report.traffic.find((t) => t.name === 'ping')!;
    expect(ping).toMatchObject({ sent: 4, delivered: 0 });
    expect(ping.losses).toEqual([
      expect.objectContaining({ where: 'home-router', reason: 'esp-no-alg', count: 4, detail: expect.stringContaining('this PAT has no ESP ALG and ESP has no ports to translate') }),
    ]);
    const client = report.peers.find((p) => p.name === 'client')!;
    expect(client.children[0]).toMatchObject({ encap: 'none', why: expect.stringContaining('NAT-T is off (encap: off) although this side is behind a NAT') });
    const fails = report.expectations.find((e) => e.expect === 'fails')!;
    expect(fails).toMatchObject({ ok: true, line: 71 });
    expect(fails.explanation).toContain('4 at home-router (esp-no-alg');
  });

  it('keepalive-slower-than-nat-timeout: expiry, black hole, DPD on both sides, a new IKE SA through a new mapping', () => {
    const sim = sims.get('keepalive-slower-than-nat-timeout')!;
    const client = sim.peers.get('client')!;
    const server = sim.peers.get('server')!;
    // The 4500 mapping was made by the IKE_AUTH request crossing the PAT at 25 ms, and
    // is gone 20 s and 1 µs later.
    const expiry = sim.natEvents.find((e) => e.kind === 'expire' && e.mapping?.includes('10.0.0.2:4500'))!;
    expect(sim.natEvents.find((e) => e.kind === 'created' && e.mapping?.includes('10.0.0.2:4500'))!.at).toBe(25_000);
    expect(expiry.at).toBe(20_025_001);
    const lost = sim.ledger.lossesOf('ping-client');
    expect(lost.map((l) => `${l.where} ${l.reason}`)).toEqual(['home-router no-mapping']);
    const serverDeaths = [...server.sas.values()].filter((s) => s.deleteReason === 'dpd').map((s) => s.deletedAt);
    const clientDeaths = [...client.sas.values()].filter((s) => s.deleteReason === 'dpd').map((s) => s.deletedAt!);
    expect(serverDeaths.length).toBeGreaterThanOrEqual(2);
    expect(clientDeaths.length).toBeGreaterThanOrEqual(1);
    const fresh = [...client.sas.values()].filter((s) => s.establishedAt !== undefined);
    expect(fresh.length).toBe(clientDeaths.length + 1);
    // Each new IKE SA starts right when DPD gave up (action restart), from a new NAT port.
    for (const d of clientDeaths) expect(client.initiations.some((i) => i.at === d && i.why.includes('declared dead by DPD'))).toBe(true);
    const ports = new Set(server.log.filter((l) => l.kind === 'established').map((l) => /at (\S+) \(/.exec(l.text)![1]));
    expect(ports.size).toBe(fresh.length);
  });

  it('nat-reboot: the server follows the client to its new mapping after the client’s DPD', () => {
    const sim = sims.get('nat-reboot')!;
    const server = sim.peers.get('server')!;
    expect(server.addressUpdates).toHaveLength(1);
    const u = server.addressUpdates[0]!;
    expect(u.from).not.toBe(u.to);
    const dpd = sim.peers.get('client')!.log.filter((l) => l.kind === 'dpd' && l.at < u.at).at(-1)!;
    expect(dpd.at).toBeGreaterThan(65_000_000);
    expect(u.at).toBeGreaterThan(dpd.at);
    expect(u.at - dpd.at).toBeLessThan(50_000);
  });

  it('lossy-link: IKE retransmissions carry the reason in their capture comment', () => {
    const sim = sims.get('lossy-link')!;
    const comments = sim.lab.taps.get('wan')!.comments().filter((c) => c.includes('(retransmission'));
    expect(comments.length).toBeGreaterThan(0);
    expect(comments[0]).toMatch(/\(retransmission 1: no response after 1 s\)/);
  });

  it('ipsec-passthrough: the second client’s ESP replies land on the first client', () => {
    const sim = sims.get('ipsec-passthrough')!;
    const loss = sim.ledger.lossesOf('ping2');
    expect(loss).toEqual([expect.objectContaining({ where: 'client', reason: 'unknown-spi', count: 3 })]);
    expect(sim.lab.taps.get('home-outside')!.comments().some((c) => c.includes('is already bound to 10.0.0.2; replies from it will go to 10.0.0.2, not to 10.0.0.3'))).toBe(true);
  });

  it('keepalive-faster-than-nat-timeout: 24 virtual hours in a few seconds', () => {
    const sim = sims.get('keepalive-faster-than-nat-timeout')!;
    const ms = wallMs.get('keepalive-faster-than-nat-timeout')!;
    const events = sim.eventsRun;
    console.log(`24 h of virtual time: ${ms.toFixed(0)} ms wall, ${events} events, ${Math.round(events / (ms / 1000))} events/s`);
    expect(sim.lab.network.now).toBe(86_400_000_000);
    expect(ms).toBeLessThan(10_000);
    const client = sim.peers.get('client')!;
    expect(client.keepalives.length).toBeGreaterThan(4000);
    // Six CHILD_SAs: the first and five rekeys (every 4 h), all in the key table.
    expect(client.children.size).toBe(6);
    expect(sim.wiresharkKeys().esp.split('\n').filter((l) => l.startsWith('"')).length).toBe(12);
  });
});

describe('determinism', () => {
  it('the same scenario and seed give byte-identical outputs; another seed changes them', () => {
    for (const n of ['nat-rw', 'nat-reboot']) {
      const again = simulateFixture(n).outputs();
      const first = sims.get(n)!.outputs();
      expect(again.map((o) => o.path)).toEqual(first.map((o) => o.path));
      for (let i = 0; i < first.length; i++) expect(Buffer.from(again[i]!.bytes).equals(Buffer.from(first[i]!.bytes)), `${n} ${first[i]!.path}`).toBe(true);
    }
    const other = captures(simulateFixture('nat-rw', { seed: 43 }));
    const wan = captures(sims.get('nat-rw')!).get('wan')!;
    expect(Buffer.from(other.get('wan')!).equals(Buffer.from(wan))).toBe(false);
  });
});

describe.skipIf(tsharkVersion === undefined)(`tshark dissects and decrypts every capture (${tsharkVersion ?? 'missing'})`, () => {
  it('no malformed packet, every ESP ICV good, IKE_AUTH decrypted, in every tap of every fixture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natt-sim-tshark-'));
    // One run of tshark over all captures (pcapng sections one after another), with the
    // keys every run emitted: each frame maps back to (fixture, tap, record).
    const frames: { fixture: string; tap: string; index: number }[] = [];
    const chunks: Uint8Array[] = [];
    const ike = new Set<string>();
    const esp = new Set<string>();
    let prefs = '';
    for (const n of names) {
      const sim = sims.get(n)!;
      for (const o of sim.outputs()) {
        const path = join(dir, n, o.path);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, o.bytes);
        const text = new TextDecoder().decode(o.bytes);
        if (o.path === 'wireshark/ikev2_decryption_table') for (const l of text.split('\n')) if (l && !l.startsWith('#')) ike.add(l);
        if (o.path === 'wireshark/esp_sa') for (const l of text.split('\n')) if (l && !l.startsWith('#')) esp.add(l);
        if (o.path === 'wireshark/preferences') prefs = text;
      }
      for (const [tap, t] of sim.lab.taps) {
        chunks.push(captures(sim).get(tap)!);
        for (let i = 0; i < t.count; i++) frames.push({ fixture: n, tap, index: i });
      }
    }
    expect(prefs).toContain('esp.enable_encryption_decode: TRUE');
    expect(prefs).toContain('esp.enable_authentication_check: TRUE');
    const keys = join(dir, 'keys');
    mkdirSync(keys);
    writeFileSync(join(keys, 'ikev2_decryption_table'), [...ike].join('\n') + '\n');
    writeFileSync(join(keys, 'esp_sa'), [...esp].join('\n') + '\n');
    writeFileSync(join(keys, 'preferences'), prefs);
    writeFileSync(join(dir, 'all.pcapng'), Buffer.concat(chunks));
    const fields = ['frame.number', '_ws.malformed', 'esp.spi', 'esp.icv_good', 'isakmp.exchangetype', 'isakmp.id.type', '_ws.expert.severity', '_ws.expert.message'];
    const r = await run('tshark', ['-r', join(dir, 'all.pcapng'), '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=~', ...fields.flatMap((f) => ['-e', f])], {
      env: { ...process.env, WIRESHARK_CONFIG_DIR: keys },
      maxBuffer: 64 * 1024 * 1024,
    });
    const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('|'));
    expect(rows.length).toBe(frames.length);
    const where = (i: number) => `${frames[i]!.fixture}/${frames[i]!.tap}.pcapng record ${frames[i]!.index + 1}`;
    const malformed = rows.flatMap((c, i) => (c[1] !== '' ? [where(i)] : []));
    expect(malformed).toEqual([]);
    const espRows = rows.map((c, i) => ({ c, i })).filter(({ c }) => c[2] !== '');
    const badIcv = espRows.filter(({ c }) => c[3] !== '1').map(({ i }) => where(i));
    expect(badIcv).toEqual([]);
    const auth = rows.map((c, i) => ({ c, i })).filter(({ c }) => c[4] === '35');
    const opaque = auth.filter(({ c }) => c[5] === '').map(({ i }) => where(i));
    expect(opaque).toEqual([]);
    // Every fixture has decrypted ESP and IKE_AUTH somewhere in its captures.
    for (const n of names) {
      expect(espRows.some(({ i }) => frames[i]!.fixture === n), `${n} ESP`).toBe(true);
      expect(auth.some(({ i }) => frames[i]!.fixture === n), `${n} IKE_AUTH`).toBe(true);
    }
    // Warnings: only ESP sequence analysis (real losses, or the same SPI seen on two taps).
    const warnings = rows.flatMap((c, i) => {
      const sev = c[6]!.split('~').map(Number);
      const msg = c[7]!.split('~');
      return sev.flatMap((s, k) => (s >= 0x00600000 && !/^Wrong Sequence Number/.test(msg[k] ?? '') ? [`${where(i)}: ${msg[k]}`] : []));
    });
    expect(warnings).toEqual([]);
  });
});
