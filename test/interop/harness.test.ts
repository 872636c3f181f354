/**
 * The interop harness proven with strongSwan 5.9.8 on both ends, before
 * natt-sim takes one of the two places. Every expectation below is a fact
 * from the lab README (§5, §7–§10), observed again here.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR,
  CHARON,
  LAB_PREFIX,
  Lab,
  SWANCTL,
  cleanupStale,
  isAlive,
  listLabNamespaces,
  pskSwanctlConf,
  run,
  runningProcesses,
  sleep,
  spawnTracked,
  withLab,
  type Capture,
  type CaptureFrame,
  type CaptureSummary,
  type Charon,
  type IkeSaStatus,
  type PingResult,
  type StaleReport,
  type SwanctlOutcome,
  type TrackedProcess,
  type WiresharkRows,
} from './lab.ts';

const PSK = 'test-psk-0123456789';
const HOLD_LAB = new URL('./fixtures/hold-lab.ts', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const OWNER = 'harness.test';

function iniConf(extra: { psk?: string; proposals?: string; espProposals?: string } = {}): string {
  return pskSwanctlConf({
    localId: 'ini.test',
    remoteId: 'rsp.test',
    remoteAddrs: ADDR.rsp,
    psk: extra.psk ?? PSK,
    localTs: ADDR.tsIni,
    remoteTs: ADDR.tsRsp,
    ...(extra.proposals ? { proposals: extra.proposals } : {}),
    ...(extra.espProposals ? { espProposals: extra.espProposals } : {}),
  });
}

function rspConf(extra: { proposals?: string; espProposals?: string } = {}): string {
  return pskSwanctlConf({
    localId: 'rsp.test',
    psk: PSK,
    localTs: ADDR.tsRsp,
    ...(extra.proposals ? { proposals: extra.proposals } : {}),
    ...(extra.espProposals ? { espProposals: extra.espProposals } : {}),
  });
}

function only<T>(xs: readonly T[]): T {
  expect(xs).toHaveLength(1);
  return xs[0]!;
}

let stale: StaleReport;

beforeAll(async () => {
  stale = await cleanupStale();
});

describe('preflight', () => {
  it('runs as root with strongSwan 5.9.8, swanctl, tcpdump, tshark and the namespace tools', async () => {
    expect(process.getuid?.()).toBe(0);
    expect(existsSync(CHARON)).toBe(true);
    expect(existsSync('/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so')).toBe(true);
    expect(existsSync(SWANCTL)).toBe(true);
    const v = await run(OWNER, ['dpkg-query', '-W', '-f=${Version}\\n', 'strongswan-charon', 'strongswan-swanctl', 'libcharon-extra-plugins']);
    const versions = v.stdout.trim().split('\n');
    expect(versions).toHaveLength(3);
    for (const version of versions) expect(version).toMatch(/^5\.9\.8-/);
    for (const tool of ['tcpdump', 'tshark', 'iptables', 'ethtool', 'conntrack', 'ping', 'unshare']) {
      const r = await run(OWNER, ['sh', '-c', `command -v ${tool}`], { check: false });
      expect(r.code, tool).toBe(0);
    }
    expect(stale.namespaces.every((n) => n.startsWith(`${LAB_PREFIX}-`))).toBe(true);
  });
});

describe('charon ↔ charon through a MASQUERADE NAT with port remapping', () => {
  let lab: Lab;
  let ini: Charon;
  let rsp: Charon;
  let inside: Capture;
  let outside: Capture;
  let initiated: SwanctlOutcome;
  let initiateMs: number;
  let iniSa: IkeSaStatus;
  let rspSa: IkeSaStatus;
  let ping: PingResult;
  let rows: WiresharkRows;
  let outsideFrames: CaptureFrame[];
  let outsideSummary: CaptureSummary;
  let insideSummary: CaptureSummary;

  beforeAll(async () => {
    lab = await Lab.create({ nat: true, remapPorts: true, conntrack: { unrepliedS: 45, streamS: 150 } });
    inside = await lab.startCapture('inside');
    outside = await lab.startCapture('outside');
    [rsp, ini] = await Promise.all([
      lab.startCharon('rsp', { keepAliveS: 2, swanctlConf: rspConf() }),
      lab.startCharon('ini', { keepAliveS: 2, swanctlConf: iniConf() }),
    ]);
    const t = performance.now();
    initiated = await ini.initiate();
    initiateMs = performance.now() - t;
  });

  afterAll(async () => {
    const report = await lab.close();
    expect(lab.leftovers()).toEqual({ namespaces: [], pids: [], folder: false });
    expect(report.strays).toEqual([]);
  });

  it('builds three namespaces named for this run, with the conntrack timeouts asked for', async () => {
    expect(lab.id).toMatch(new RegExp(`^${LAB_PREFIX}-${process.pid}-\\d+$`));
    expect(Object.values(lab.ns).sort()).toEqual(listLabNamespaces().filter((n) => n.startsWith(`${lab.id}-`)).sort());
    expect(await lab.conntrackUdpTimeouts()).toEqual({ unrepliedS: 45, streamS: 150 });
    expect(lab.createMs).toBeLessThan(5_000);
  });

  it('runs each charon with its own /run: the pid file holds the tracked PID', () => {
    expect(ini.pidFile()).toBe(ini.pid);
    expect(rsp.pidFile()).toBe(rsp.pid);
    expect(ini.pid).not.toBe(rsp.pid);
    expect(ini.startMs).toBeLessThan(5_000);
    expect(ini.log()).toMatch(/created TUN device: ipsec0/);
    expect(ini.log()).toMatch(/loaded plugins: charon random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici/);
  });

  it('establishes the IKE_SA; the initiator finds itself behind the NAT', async () => {
    expect(initiated.output).toMatch(/initiate completed successfully/);
    expect(initiated.ok).toBe(true);
    expect(initiateMs).toBeLessThan(5_000);
    iniSa = only(await ini.listSas());
    rspSa = only(await rsp.listSas());
    expect(iniSa).toMatchObject({ state: 'ESTABLISHED', version: 2, initiator: true, natLocal: true, natAny: true, natFake: false });
    expect(iniSa).toMatchObject({ localHost: ADDR.iniLan, localPort: 4500, remoteHost: ADDR.rsp, remotePort: 4500 });
    // rsp sees the NAT's mapped 4500 port, remapped into 20000-29999.
    expect(rspSa).toMatchObject({ state: 'ESTABLISHED', initiator: false, natLocal: false, natRemote: true, natAny: true, remoteHost: ADDR.natWan, localPort: 4500 });
    expect(rspSa.remotePort).toBeGreaterThanOrEqual(20000);
    expect(rspSa.remotePort).toBeLessThanOrEqual(29999);
    expect(rspSa.spiI).toBe(iniSa.spiI);
    expect(rspSa.spiR).toBe(iniSa.spiR);
    expect(iniSa.spiI).toMatch(/^[0-9a-f]{16}$/);
  });

  it('installs the CHILD_SA as ESP in UDP, with matching SPIs on both sides', () => {
    const a = only(iniSa.children);
    const b = only(rspSa.children);
    expect(a).toMatchObject({ state: 'INSTALLED', mode: 'TUNNEL', protocol: 'ESP', encap: true, localTs: [ADDR.tsIni], remoteTs: [ADDR.tsRsp] });
    expect(b).toMatchObject({ state: 'INSTALLED', encap: true, localTs: [ADDR.tsRsp], remoteTs: [ADDR.tsIni] });
    expect(a.spiIn).toBe(b.spiOut);
    expect(a.spiOut).toBe(b.spiIn);
  });

  it('keeps the NAT mapping in conntrack that rsp sees as the remote endpoint', async () => {
    const entries = await lab.conntrackUdp();
    const natT = entries.find((e) => e.src === ADDR.iniLan && e.sport === 4500);
    const ike = entries.find((e) => e.src === ADDR.iniLan && e.sport === 500);
    expect(natT?.replyDport).toBe(rspSa.remotePort);
    expect(ike?.replyDport).not.toBe(500);
    expect(ike?.replyDport).not.toBe(natT?.replyDport);
  });

  it('answers pings through the tunnel and counts them on the CHILD_SA', async () => {
    ping = await lab.ping({ count: 3 });
    expect(ping).toMatchObject({ transmitted: 3, received: 3, replySeqs: [1, 2, 3], code: 0 });
    const child = only(only(await ini.listSas()).children);
    expect(child.packetsOut).toBe(3);
    expect(child.packetsIn).toBe(3);
  });

  it('sends NAT keepalives from the NATed side only, every keep_alive (2 s) of silence', async () => {
    await sleep(5_000);
    const terminated = await ini.terminate();
    expect(terminated.ok).toBe(true);
    await Promise.all([inside.stop(), outside.stop()]);
    rows = ini.wiresharkRows();
    const out = await lab.decrypt(outside, rows);
    outsideFrames = out.frames;
    outsideSummary = out.summary;
    insideSummary = (await lab.decrypt(inside, rows)).summary;
    const ka = outsideFrames.filter((f) => f.natKeepalive);
    expect(ka.length).toBeGreaterThanOrEqual(2);
    for (const f of ka) {
      expect(f.ipSrc).toEqual([ADDR.natWan]);
      expect(f.sport).toBe(rspSa.remotePort);
      expect(f.dport).toBe(4500);
    }
    const gaps = ka.slice(1).map((f, i) => f.t - ka[i]!.t);
    for (const g of gaps) expect(g).toBeCloseTo(2, 0);
    expect(insideSummary.keepalives).toBe(ka.length);
  });

  it('floats IKE to 4500 after IKE_SA_INIT and never sends raw ESP', () => {
    const ike = outsideFrames.filter((f) => f.isIke);
    const init = ike.filter((f) => f.ikeExchange === 34);
    expect(init).toHaveLength(2);
    for (const f of init) expect([f.sport, f.dport]).toContain(500);
    for (const f of ike.filter((x) => x.ikeExchange !== 34)) {
      expect([f.sport, f.dport]).toContain(4500);
      expect(f.nonEspMarker).toBe(true);
    }
    expect(outsideSummary.rawEsp).toBe(0);
    expect(outsideSummary.espInUdp).toBe(outsideSummary.esp);
    expect(outsideSummary.badUdpChecksums).toBe(0);
  });

  it('decrypts the outside capture with the rows from the level-4 log', () => {
    expect(rows.ikev2).toHaveLength(1);
    expect(rows.ikev2[0]).toContain(`${iniSa.spiI},${iniSa.spiR},`);
    expect(rows.esp).toHaveLength(2);
    // 3 echo requests + 3 replies, every one authenticated.
    expect(outsideSummary).toMatchObject({ esp: 6, espIcvGood: 6, espIcvBad: 0, espEchoRequests: 3, espEchoReplies: 3 });
    // IKE_AUTH request and response, and the DELETE exchange.
    expect(outsideSummary.ikeAuthDecrypted).toBe(2);
    expect(outsideSummary.ikeDecrypted).toBe(outsideSummary.ike - 2);
    // The same rows decrypt the inside capture, where ini's own address shows.
    expect(insideSummary).toMatchObject({ espIcvGood: 6, ikeAuthDecrypted: 2 });
  });

  it('gets the same rows from the responder log', () => {
    const other = rsp.wiresharkRows();
    expect(other.ikev2).toEqual(rows.ikev2);
    expect([...other.esp].sort()).toEqual([...rows.esp].sort());
  });
});

describe('charon ↔ charon without NAT (5.9.8 still floats and encapsulates), AES-CBC + HMAC', () => {
  let lab: Lab;
  let ini: Charon;
  let rsp: Charon;
  let wire: Capture;
  let initiated: SwanctlOutcome;
  const cbc = { proposals: 'aes256-sha256-modp2048', espProposals: 'aes256-sha256' };

  beforeAll(async () => {
    lab = await Lab.create({ nat: false });
    wire = await lab.startCapture('outside');
    [rsp, ini] = await Promise.all([
      lab.startCharon('rsp', { keepAliveS: 2, swanctlConf: rspConf(cbc) }),
      lab.startCharon('ini', { keepAliveS: 2, swanctlConf: iniConf(cbc) }),
    ]);
    initiated = await ini.initiate();
  });

  afterAll(async () => {
    await lab.close();
    expect(lab.leftovers()).toEqual({ namespaces: [], pids: [], folder: false });
  });

  it('puts ini on the public segment', () => {
    expect(lab.nat).toBe(false);
    expect(lab.iniAddr).toBe(ADDR.iniPublic);
    expect(lab.iniPublicAddr).toBe(ADDR.iniPublic);
  });

  it('establishes with the spurious nat-remote on both sides and no nat-local', async () => {
    expect(initiated.ok).toBe(true);
    const a = only(await ini.listSas());
    const b = only(await rsp.listSas());
    expect(a).toMatchObject({ state: 'ESTABLISHED', natLocal: false, natRemote: true, natFake: false, natAny: true, encrAlg: 'AES_CBC', encrKeysize: 256, integAlg: 'HMAC_SHA2_256_128' });
    expect(b).toMatchObject({ state: 'ESTABLISHED', natLocal: false, natRemote: true, natAny: true, remoteHost: ADDR.iniPublic, remotePort: 4500, localPort: 4500 });
    expect(only(a.children)).toMatchObject({ state: 'INSTALLED', encap: true });
  });

  it('answers pings, sends no keepalives, and decrypts with integrity keys', async () => {
    const p = await lab.ping({ count: 3 });
    expect(p).toMatchObject({ transmitted: 3, received: 3 });
    // Longer than keep_alive after the last packet: a NATed side would have sent one by now.
    await sleep(3_000);
    expect((await ini.terminate()).ok).toBe(true);
    await wire.stop();
    const rows = ini.wiresharkRows();
    expect(rows.ikev2[0]).toContain('"AES-CBC-256 [RFC3602]"');
    expect(rows.ikev2[0]).toContain('"HMAC_SHA2_256_128 [RFC4868]"');
    expect(rows.esp[0]).toContain('"HMAC-SHA-256-128 [RFC4868]"');
    const { frames, summary } = await lab.decrypt(wire, rows);
    expect(summary).toMatchObject({ keepalives: 0, rawEsp: 0, esp: 6, espIcvGood: 6, espIcvBad: 0, espEchoRequests: 3, espEchoReplies: 3, ikeAuthDecrypted: 2 });
    for (const f of frames.filter((x) => x.espSpi !== undefined)) expect([f.sport, f.dport]).toEqual(expect.arrayContaining([4500]));
    expect(frames.every((f) => f.ipSrc.length === 0 || f.ipSrc[0] !== ADDR.natWan)).toBe(true);
  });
});

describe('cleanup', () => {
  it('removes everything after a run that fails on purpose (wrong PSK)', async () => {
    expect.assertions(8);
    let lab: Lab | undefined;
    let pids: number[] = [];
    const failing = withLab({}, async (l) => {
      lab = l;
      await l.startCapture('outside');
      const [, ini] = await Promise.all([
        l.startCharon('rsp', { swanctlConf: rspConf() }),
        l.startCharon('ini', { swanctlConf: iniConf({ psk: 'wrong-psk-9876543210' }) }),
      ]);
      pids = l.processes.filter((p) => p.isRunning).map((p) => p.pid);
      const o = await ini.initiate();
      expect(o.ok).toBe(false);
      expect(o.output).toMatch(/AUTHENTICATION_FAILED/);
      expect(await ini.listSas()).toEqual([]);
      // The check that fails on purpose: the lab must still be torn down.
      if (!o.ok) throw new Error(`tunnel not established: ${o.output.trim().split('\n').pop() ?? ''}`);
    });
    await expect(failing).rejects.toThrow(/tunnel not established: initiate failed/);
    expect(pids).toHaveLength(3);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(lab!.leftovers()).toEqual({ namespaces: [], pids: [], folder: false });
    expect(runningProcesses(lab!.id)).toEqual([]);
  });

  async function holdLab(): Promise<{ child: TrackedProcess; info: { id: string; namespaces: string[]; dir: string; pids: number[] } }> {
    const child = spawnTracked(OWNER, 'hold-lab', [process.execPath, '--import', 'tsx', HOLD_LAB], { cwd: REPO });
    let out = '';
    let err = '';
    child.child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
    const deadline = performance.now() + 20_000;
    while (!out.includes('\n')) {
      if (!child.isRunning || performance.now() > deadline) {
        await child.stop('SIGKILL');
        throw new Error(`hold-lab did not start: ${err}`);
      }
      await sleep(20);
    }
    return { child, info: JSON.parse(out.split('\n')[0]!) as { id: string; namespaces: string[]; dir: string; pids: number[] } };
  }

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('tears down a lab when its process gets %s', async (signal, code) => {
    const { child, info } = await holdLab();
    expect(info.namespaces).toHaveLength(3);
    expect(listLabNamespaces()).toEqual(expect.arrayContaining(info.namespaces));
    expect(info.pids.filter(isAlive)).toHaveLength(2); // tcpdump and charon
    child.child.kill(signal);
    const exit = await child.exited;
    expect(exit.code).toBe(code);
    expect(listLabNamespaces().filter((n) => n.startsWith(`${info.id}-`))).toEqual([]);
    expect(info.pids.filter(isAlive)).toEqual([]);
    expect(existsSync(info.dir)).toBe(false);
  });

  it('cleanupStale removes what a SIGKILLed run left behind, ending the processes inside', async () => {
    const { child, info } = await holdLab();
    child.child.kill('SIGKILL');
    await child.exited;
    // Nothing could run in the killed process: its namespaces and charon are still there.
    expect(listLabNamespaces()).toEqual(expect.arrayContaining(info.namespaces));
    const orphaned = info.pids.filter(isAlive);
    expect(orphaned.length).toBeGreaterThan(0);
    const report = await cleanupStale();
    expect([...report.namespaces].sort()).toEqual([...info.namespaces].sort());
    expect(report.processes).toEqual(expect.arrayContaining(orphaned));
    expect(report.folders).toContain(info.dir);
    expect(listLabNamespaces().filter((n) => n.startsWith(`${info.id}-`))).toEqual([]);
    expect(info.pids.filter(isAlive)).toEqual([]);
    expect(existsSync(info.dir)).toBe(false);
  });

  it('leaves no namespace of this process and no tracked process behind', () => {
    expect(listLabNamespaces().filter((n) => n.startsWith(`${LAB_PREFIX}-${process.pid}-`))).toEqual([]);
    expect(runningProcesses()).toEqual([]);
  });
});
