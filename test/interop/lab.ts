/**
 * The interop lab: three network namespaces, a Linux NAT (or a plain switch)
 * between them, tcpdump on both sides of it, strongSwan instances, ping
 * through the tunnel and tshark decryption of the captures.
 *
 *   ini (10.77.0.2) ── lan0 │ nat │ wan0 ── rsp (198.51.100.2)
 *                     10.77.0.1 198.51.100.1
 *   inner addresses on lo: ini 10.77.10.1/32, rsp 10.77.20.1/32
 *
 * With `nat: false` the nat namespace is a bridge (lan0 and wan0 are ports of
 * br0, no address, no routing, no netfilter rules) and ini sits on the public
 * segment as 198.51.100.3; captures keep their names ("inside" is lan0,
 * "outside" is wan0).
 *
 * Names are unique per run: namespaces are `nattlab-<pid>-<n>-<role>` and the
 * work folder is `<tmp>/nattlab-<pid>-<n>`. The veths are created directly
 * inside the namespaces (`ip -n NS link add ... peer ... netns NS2`), so no
 * interface ever appears in the host namespace.
 *
 * Cleanup: `close()` stops every tracked process of the lab (SIGTERM, SIGKILL
 * after 5 s; tcpdump gets SIGINT first), kills whatever still runs inside the
 * lab's namespaces, deletes the namespaces and the work folder. The same runs
 * synchronously on SIGINT/SIGTERM of the test process and on exit.
 * `cleanupStale()` removes namespaces and folders left by dead processes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isAlive,
  run,
  runningProcesses,
  runSync,
  sleep,
  spawnTracked,
  stopPids,
  stopPidsSync,
  type RunOptions,
  type RunResult,
  type TrackedProcess,
} from './lib/proc.ts';
import { Charon, type CharonStartOptions } from './lib/charon.ts';
import { decryptCapture } from './lib/tshark.ts';
import type { WiresharkRows } from './lib/keylog.ts';

export * from './lib/proc.ts';
export * from './lib/charon.ts';
export * from './lib/list-sas.ts';
export * from './lib/keylog.ts';
export * from './lib/tshark.ts';
export * from './lib/natt-peer.ts';

/** Prefix of every namespace and work folder this harness creates. */
export const LAB_PREFIX = 'nattlab';
const NAME_RE = new RegExp(`^${LAB_PREFIX}-(\\d+)-(\\d+)(?:-(ini|nat|rsp))?$`);

export type Role = 'ini' | 'nat' | 'rsp';
export type Side = 'inside' | 'outside';

/** Fixed lab addresses (README §5). 192.0.2.0/24 is the host's own network and is never used. */
export const ADDR = {
  iniLan: '10.77.0.2',
  natLan: '10.77.0.1',
  natWan: '198.51.100.1',
  rsp: '198.51.100.2',
  /** ini on the public segment in the no-NAT layout. */
  iniPublic: '198.51.100.3',
  innerIni: '10.77.10.1',
  innerRsp: '10.77.20.1',
  tsIni: '10.77.10.0/24',
  tsRsp: '10.77.20.0/24',
} as const;

export interface ConntrackUdpTimeouts {
  /** net.netfilter.nf_conntrack_udp_timeout: unreplied flows (kernel default 30 s). */
  readonly unrepliedS?: number;
  /** net.netfilter.nf_conntrack_udp_timeout_stream: assured flows (kernel default 120 s). */
  readonly streamS?: number;
}

export interface LabOptions {
  /** MASQUERADE NAT between ini and rsp (default). false: ini on the public segment, the middle is a switch. */
  readonly nat?: boolean;
  /** Remap UDP source ports into 20000-29999 (`--to-ports`), so 500 and 4500 change too. Default true. */
  readonly remapPorts?: boolean;
  readonly conntrack?: ConntrackUdpTimeouts;
  /** Keep the work folder (captures, logs) after close. Also set by NATT_INTEROP_KEEP=1. */
  readonly keepFiles?: boolean;
}

export interface PingOptions {
  readonly count?: number;
  /** Seconds between requests (default 0.2). */
  readonly intervalS?: number;
  /** Seconds to wait for each reply (-W, default 1). */
  readonly waitS?: number;
  readonly from?: string;
  readonly to?: string;
  readonly role?: Role;
}

export interface PingResult {
  readonly transmitted: number;
  readonly received: number;
  /** icmp_seq of every reply, in arrival order. */
  readonly replySeqs: readonly number[];
  readonly rttAvgMs: number | undefined;
  readonly output: string;
  readonly code: number | null;
}

export function parsePing(output: string, code: number | null = null): PingResult {
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(output);
  return {
    transmitted: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : 0,
    replySeqs: [...output.matchAll(/bytes from \S+: icmp_seq=(\d+)/g)].map((m) => Number(m[1])),
    rttAvgMs: rtt ? Number(rtt[1]) : undefined,
    output,
    code,
  };
}

export interface ConntrackEntry {
  readonly proto: string;
  /** Seconds until the entry expires. */
  readonly ttlS: number;
  /** Original direction, as the inside host sent it. */
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** Reply direction: replySport is the peer's port, replyDport the public (mapped) port. */
  readonly replySrc: string;
  readonly replyDst: string;
  readonly replySport: number;
  readonly replyDport: number;
  readonly assured: boolean;
  readonly unreplied: boolean;
}

export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)\s+\d+\s+(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const get = (k: string) => [...m[3]!.matchAll(new RegExp(`\\b${k}=(\\S+)`, 'g'))].map((x) => x[1]!);
    const src = get('src');
    const dst = get('dst');
    const sport = get('sport').map(Number);
    const dport = get('dport').map(Number);
    if (src.length < 2 || dst.length < 2 || sport.length < 2 || dport.length < 2) continue;
    out.push({
      proto: m[1]!,
      ttlS: Number(m[2]),
      src: src[0]!,
      dst: dst[0]!,
      sport: sport[0]!,
      dport: dport[0]!,
      replySrc: src[1]!,
      replyDst: dst[1]!,
      replySport: sport[1]!,
      replyDport: dport[1]!,
      assured: /\[ASSURED\]/.test(m[3]!),
      unreplied: /\[UNREPLIED\]/.test(m[3]!),
    });
  }
  return out;
}

export interface CaptureStats {
  readonly captured: number | undefined;
  readonly droppedByKernel: number | undefined;
}

/** A tcpdump running in the nat namespace. */
export class Capture {
  constructor(
    readonly side: Side,
    readonly iface: string,
    readonly file: string,
    readonly process: TrackedProcess,
    private readonly stderrText: () => string,
  ) {}

  /** Waits `settleMs` for the last packets, then SIGINT (which flushes the file); SIGKILL after 5 s. */
  async stop(settleMs = 200): Promise<CaptureStats> {
    if (this.process.isRunning) {
      await sleep(settleMs);
      await this.process.stop('SIGINT');
    }
    const err = this.stderrText();
    const cap = /(\d+) packets? captured/.exec(err);
    const drop = /(\d+) packets? dropped by kernel/.exec(err);
    return { captured: cap ? Number(cap[1]) : undefined, droppedByKernel: drop ? Number(drop[1]) : undefined };
  }
}

// ---- the registry of open labs, and the exit path ----

let counter = 0;
const openLabs = new Set<Lab>();
let handlersInstalled = false;

function keepFilesDefault(): boolean {
  return process.env.NATT_INTEROP_KEEP === '1';
}

/** Synchronous teardown of every open lab; for signal and exit handlers. */
function teardownAllSync(): void {
  const pids = runningProcesses().map((p) => p.pid);
  for (const lab of openLabs) pids.push(...lab.namespacePidsSync());
  stopPidsSync([...new Set(pids)]);
  for (const lab of openLabs) lab.deleteSync();
  openLabs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  teardownAllSync();
  removeHandlers();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

const onExit = () => teardownAllSync();

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', onExit);
}

/** Namespaces whose name carries the harness prefix. */
export function listLabNamespaces(): string[] {
  const r = runSync(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter((n) => NAME_RE.test(n));
}

function namespacePids(ns: string): number[] {
  return runSync(['ip', 'netns', 'pids', ns])
    .stdout.split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

export interface StaleReport {
  readonly namespaces: string[];
  readonly folders: string[];
  readonly processes: number[];
}

/**
 * Removes namespaces and work folders with the harness prefix whose creator
 * PID (the number after the prefix) is no longer alive, ending the processes
 * still running inside those namespaces first.
 */
export async function cleanupStale(): Promise<StaleReport> {
  const dead = (name: string) => {
    const m = NAME_RE.exec(name);
    if (!m) return false;
    const pid = Number(m[1]);
    return pid !== process.pid && !isAlive(pid);
  };
  const namespaces = listLabNamespaces().filter(dead);
  const processes = namespaces.flatMap(namespacePids);
  await stopPids(processes);
  for (const ns of namespaces) runSync(['ip', 'netns', 'del', ns]);
  const folders = readdirSync(tmpdir())
    .filter(dead)
    .map((n) => join(tmpdir(), n));
  for (const f of folders) rmSync(f, { recursive: true, force: true });
  return { namespaces, folders, processes };
}

export interface CloseReport {
  /** Tracked PIDs that were still running when close began. */
  readonly stopped: number[];
  /** Untracked PIDs found inside the lab's namespaces and ended. */
  readonly strays: number[];
  readonly namespaces: string[];
  readonly ms: number;
}

export class Lab {
  /** `nattlab-<pid>-<n>`. */
  readonly id: string;
  readonly ns: Readonly<Record<Role, string>>;
  readonly dir: string;
  readonly nat: boolean;
  /** ini's own address: 10.77.0.2 behind the NAT, 198.51.100.3 without. */
  readonly iniAddr: string;
  readonly rspAddr = ADDR.rsp;
  /** The address rsp sees ini's packets from. */
  readonly iniPublicAddr: string;
  /** Every process this lab started, running or not. */
  readonly processes: TrackedProcess[] = [];
  readonly charons: Charon[] = [];
  readonly captures: Capture[] = [];
  readonly createMs: number = 0;
  private readonly created: string[] = [];
  private closed = false;
  private readonly keepFiles: boolean;

  private constructor(readonly options: LabOptions) {
    this.id = `${LAB_PREFIX}-${process.pid}-${counter++}`;
    this.ns = { ini: `${this.id}-ini`, nat: `${this.id}-nat`, rsp: `${this.id}-rsp` };
    this.dir = join(tmpdir(), this.id);
    this.nat = options.nat ?? true;
    this.iniAddr = this.nat ? ADDR.iniLan : ADDR.iniPublic;
    this.iniPublicAddr = this.nat ? ADDR.natWan : ADDR.iniPublic;
    this.keepFiles = options.keepFiles ?? keepFilesDefault();
  }

  /** Builds the topology. On any failure everything created so far is removed before the error propagates. */
  static async create(options: LabOptions = {}): Promise<Lab> {
    const lab = new Lab(options);
    openLabs.add(lab);
    installHandlers();
    const started = performance.now();
    try {
      mkdirSync(lab.dir, { recursive: true });
      await lab.build();
    } catch (e) {
      await lab.close();
      throw e;
    }
    (lab as { createMs: number }).createMs = performance.now() - started;
    return lab;
  }

  private async build(): Promise<void> {
    const { ini, nat, rsp } = this.ns;
    for (const ns of [ini, nat, rsp]) {
      await this.host(['ip', 'netns', 'add', ns]);
      this.created.push(ns);
      await this.host(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await this.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    // Created inside the namespaces: nothing appears in the host's namespace.
    await this.host(['ip', '-n', ini, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', nat]);
    await this.host(['ip', '-n', rsp, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', nat]);
    for (const [ns, dev] of [
      [ini, 'eth0'],
      [nat, 'lan0'],
      [nat, 'wan0'],
      [rsp, 'eth0'],
    ] as const) {
      await this.exec(ns, ['ethtool', '-K', dev, 'tx', 'off']);
      await this.host(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    await this.host(['ip', '-n', rsp, 'addr', 'add', `${ADDR.rsp}/24`, 'dev', 'eth0']);
    await this.host(['ip', '-n', ini, 'addr', 'add', `${ADDR.innerIni}/32`, 'dev', 'lo']);
    await this.host(['ip', '-n', rsp, 'addr', 'add', `${ADDR.innerRsp}/32`, 'dev', 'lo']);
    if (this.nat) {
      await this.host(['ip', '-n', ini, 'addr', 'add', `${ADDR.iniLan}/24`, 'dev', 'eth0']);
      await this.host(['ip', '-n', nat, 'addr', 'add', `${ADDR.natLan}/24`, 'dev', 'lan0']);
      await this.host(['ip', '-n', nat, 'addr', 'add', `${ADDR.natWan}/24`, 'dev', 'wan0']);
      await this.host(['ip', '-n', ini, 'route', 'add', 'default', 'via', ADDR.natLan]);
      await this.exec(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      const ipt = (args: string[]) => this.exec(nat, ['iptables', '-w', ...args]);
      if (this.options.remapPorts ?? true) {
        await ipt(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-p', 'udp', '-j', 'MASQUERADE', '--to-ports', '20000-29999']);
      }
      await ipt(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE']);
      await ipt(['-A', 'FORWARD', '-i', 'wan0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
      await ipt(['-A', 'FORWARD', '-i', 'wan0', '-o', 'lan0', '-j', 'DROP']);
      if (this.options.conntrack) await this.setConntrackUdpTimeouts(this.options.conntrack);
    } else {
      await this.host(['ip', '-n', ini, 'addr', 'add', `${ADDR.iniPublic}/24`, 'dev', 'eth0']);
      await this.host(['ip', '-n', nat, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      await this.host(['ip', '-n', nat, 'link', 'set', 'lan0', 'master', 'br0']);
      await this.host(['ip', '-n', nat, 'link', 'set', 'wan0', 'master', 'br0']);
      await this.host(['ip', '-n', nat, 'link', 'set', 'br0', 'up']);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`lab ${this.id} is closed`);
  }

  /** A command on the host (only `ip` with -n/netns arguments is used this way). */
  private host(argv: string[], opts?: RunOptions): Promise<RunResult> {
    return run(this.id, argv, opts);
  }

  private exec(ns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(this.id, ['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Runs a short command inside a namespace. Throws CommandError on failure unless `check: false`. */
  run(role: Role, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.assertOpen();
    return this.exec(this.ns[role], argv, opts);
  }

  /** Starts a long-running process inside a namespace, tracked and stopped by close(). */
  spawn(role: Role, label: string, argv: readonly string[], opts: { env?: Record<string, string>; logFile?: string } = {}): TrackedProcess {
    this.assertOpen();
    const p = spawnTracked(this.id, label, ['ip', 'netns', 'exec', this.ns[role], ...argv], opts);
    this.processes.push(p);
    return p;
  }

  /** Starts tcpdump on lan0 (inside) or wan0 (outside) of the nat namespace and waits for "listening on". */
  async startCapture(side: Side, opts: { file?: string; filter?: string[] } = {}): Promise<Capture> {
    this.assertOpen();
    const iface = side === 'inside' ? 'lan0' : 'wan0';
    const file = opts.file ?? join(this.dir, `${side}.pcap`);
    // -U flushes per packet, --immediate-mode hands packets over without the 1 s buffer
    // timeout, -Z root keeps tcpdump from dropping to a user that cannot write the folder.
    const p = spawnTracked(this.id, `tcpdump ${side}`, [
      'ip',
      'netns',
      'exec',
      this.ns.nat,
      'tcpdump',
      '-i',
      iface,
      '-s',
      '0',
      '-U',
      '-n',
      '--immediate-mode',
      '-Z',
      'root',
      '-w',
      file,
      ...(opts.filter ?? []),
    ]);
    this.processes.push(p);
    let stderr = '';
    p.child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.child.stdout?.resume();
    const deadline = performance.now() + 5_000;
    while (!/listening on/.test(stderr)) {
      if (!p.isRunning || performance.now() > deadline) {
        await p.stop();
        throw new Error(`tcpdump on ${iface} did not start: ${stderr.trim()}`);
      }
      await sleep(10);
    }
    const c = new Capture(side, iface, file, p, () => stderr);
    this.captures.push(c);
    return c;
  }

  /** Starts charon in ini or rsp (README §3–4) and loads `swanctlConf` when given. */
  async startCharon(role: 'ini' | 'rsp', opts: CharonStartOptions = {}): Promise<Charon> {
    this.assertOpen();
    const name = opts.name ?? role;
    if (this.charons.some((c) => c.name === name)) throw new Error(`charon ${name} already started in ${this.id}`);
    const startPromise = Charon.start(this.id, this.ns[role], join(this.dir, name), { ...opts, name });
    const c = await startPromise;
    this.charons.push(c);
    this.processes.push(c.process);
    return c;
  }

  /** ping through the tunnel: from ini's inner address to rsp's by default. */
  async ping(opts: PingOptions = {}): Promise<PingResult> {
    const count = opts.count ?? 3;
    const interval = opts.intervalS ?? 0.2;
    const wait = opts.waitS ?? 1;
    const r = await this.run(
      opts.role ?? 'ini',
      ['ping', '-n', '-I', opts.from ?? ADDR.innerIni, '-c', String(count), '-i', String(interval), '-W', String(wait), opts.to ?? ADDR.innerRsp],
      { check: false, timeoutMs: (count * interval + wait + 5) * 1000 },
    );
    return parsePing(r.stdout + r.stderr, r.code);
  }

  /** Sets the nat namespace's conntrack UDP timeouts. */
  async setConntrackUdpTimeouts(t: ConntrackUdpTimeouts): Promise<void> {
    const args: string[] = [];
    if (t.unrepliedS !== undefined) args.push(`net.netfilter.nf_conntrack_udp_timeout=${t.unrepliedS}`);
    if (t.streamS !== undefined) args.push(`net.netfilter.nf_conntrack_udp_timeout_stream=${t.streamS}`);
    if (args.length > 0) await this.run('nat', ['sysctl', '-qw', ...args]);
  }

  /** Reads the nat namespace's conntrack UDP timeouts. */
  async conntrackUdpTimeouts(): Promise<Required<ConntrackUdpTimeouts>> {
    const r = await this.run('nat', ['sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout', 'net.netfilter.nf_conntrack_udp_timeout_stream']);
    const [u, s] = r.stdout.trim().split('\n').map(Number);
    return { unrepliedS: u!, streamS: s! };
  }

  /** The NAT's UDP conntrack entries (the mappings). */
  async conntrackUdp(): Promise<ConntrackEntry[]> {
    const r = await this.run('nat', ['conntrack', '-L', '-p', 'udp'], { check: false });
    return parseConntrack(r.stdout);
  }

  /** Drops every NAT mapping, as a NAT reboot would. */
  async flushConntrack(): Promise<void> {
    await this.run('nat', ['conntrack', '-F'], { check: false });
  }

  /** Decrypts a capture of this lab with the given rows. */
  decrypt(capture: Capture | string, keys: WiresharkRows): ReturnType<typeof decryptCapture> {
    return decryptCapture(typeof capture === 'string' ? capture : capture.file, keys, this.id);
  }

  /** PIDs inside this lab's namespaces right now (synchronous; for the exit path and for checks). */
  namespacePidsSync(): number[] {
    return this.created.filter((ns) => existsSync(`/run/netns/${ns}`)).flatMap(namespacePids);
  }

  /** Deletes namespaces and (unless kept) the work folder, synchronously. Processes must be gone. */
  deleteSync(): void {
    for (const ns of this.created) runSync(['ip', 'netns', 'del', ns]);
    if (!this.keepFiles) rmSync(this.dir, { recursive: true, force: true });
    this.closed = true;
  }

  /**
   * Stops everything and removes the lab. Captures get SIGINT (flushing the
   * file) after charons have been asked to stop; every process gets SIGTERM,
   * then SIGKILL after 5 s. Safe to call more than once.
   */
  async close(): Promise<CloseReport> {
    const started = performance.now();
    if (this.closed) return { stopped: [], strays: [], namespaces: [], ms: 0 };
    this.closed = true;
    const stopped = this.processes.filter((p) => p.isRunning).map((p) => p.pid);
    const tracked = runningProcesses(this.id);
    await Promise.all(tracked.filter((p) => !p.label.startsWith('tcpdump')).map((p) => p.stop('SIGTERM')));
    await Promise.all(tracked.filter((p) => p.label.startsWith('tcpdump')).map((p) => p.stop('SIGINT')));
    const strays = this.namespacePidsSync();
    await stopPids(strays);
    const namespaces = [...this.created];
    for (const ns of namespaces) runSync(['ip', 'netns', 'del', ns]);
    if (!this.keepFiles) rmSync(this.dir, { recursive: true, force: true });
    openLabs.delete(this);
    if (openLabs.size === 0) removeHandlers();
    return { stopped, strays, namespaces, ms: performance.now() - started };
  }

  /** What is left of this lab: namespaces still listed and tracked PIDs still alive. */
  leftovers(): { namespaces: string[]; pids: number[]; folder: boolean } {
    return {
      namespaces: listLabNamespaces().filter((n) => n.startsWith(`${this.id}-`)),
      pids: this.processes.map((p) => p.pid).filter(isAlive),
      folder: existsSync(this.dir),
    };
  }
}

/** Creates a lab, runs `fn`, and closes the lab whatever happens. */
export async function withLab<T>(options: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(options);
  try {
    return await fn(lab);
  } finally {
    await lab.close();
  }
}

/** Reads a file of the lab's folder (for logs in failure messages). */
export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
