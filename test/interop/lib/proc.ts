/**
 * Processes the interop lab starts, tracked by PID so that every one of them
 * is ended (SIGTERM, then SIGKILL after a grace period) when its lab closes,
 * when the test process gets SIGINT/SIGTERM, or when it exits.
 *
 * Nothing here ever signals a process it did not spawn itself, except PIDs
 * found inside a namespace the lab created (see lab.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunResult extends ExitInfo {
  readonly argv: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock duration in milliseconds. */
  readonly ms: number;
  /** True when the command ran past its timeout and was stopped. */
  readonly timedOut: boolean;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(readonly result: RunResult) {
    super(
      `command failed (${result.timedOut ? 'timed out' : result.signal ? `signal ${result.signal}` : `exit ${String(result.code)}`}): ` +
        `${result.argv.join(' ')}\n${(result.stderr || result.stdout).trim().slice(-2000)}`,
    );
  }
}

/** Grace period between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 5_000;

/** Processes still running, by PID. An entry is removed when its process exits. */
const running = new Map<number, TrackedProcess>();

export class TrackedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;

  constructor(
    readonly label: string,
    /** The lab (or other owner) this process belongs to. */
    readonly owner: string,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${label}: spawn failed`);
    this.pid = child.pid;
    running.set(this.pid, this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exit) return;
        this.exit = { code, signal };
        running.delete(this.pid);
        resolve(this.exit);
      };
      child.once('exit', done);
      child.once('error', () => done(null, null));
    });
  }

  get isRunning(): boolean {
    return this.exit === undefined;
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILLs. Resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = KILL_GRACE_MS): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    signalPid(this.pid, signal);
    const timer = new Promise<'timeout'>((r) => {
      const t = setTimeout(() => r('timeout'), graceMs);
      void this.exited.then(() => clearTimeout(t));
    });
    if ((await Promise.race([this.exited, timer])) === 'timeout') signalPid(this.pid, 'SIGKILL');
    return this.exited;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Whether a PID names a live process (a zombie counts as dead). */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ..." — comm may contain spaces and parentheses.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export interface SpawnOptions {
  /** Extra environment (PATH and the rest of the test's environment are kept). */
  readonly env?: Record<string, string>;
  /** Send stdout and stderr to this file instead of pipes. */
  readonly logFile?: string;
  readonly cwd?: string;
}

/** Starts a long-running process and tracks it. */
export function spawnTracked(owner: string, label: string, argv: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('spawnTracked: empty argv');
  let fd: number | undefined;
  if (opts.logFile) fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
    });
    return new TrackedProcess(label, owner, child);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface RunOptions extends SpawnOptions {
  /** Default 15 s; the command is then stopped like any tracked process. */
  readonly timeoutMs?: number;
  /** Throw CommandError on a non-zero exit (default true). */
  readonly check?: boolean;
  readonly input?: string;
}

/** Runs a short command to completion, tracked while it runs. */
export async function run(owner: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('run: empty argv');
  const child = spawn(cmd, args, {
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const err = await spawnError;
    throw new Error(`cannot run ${argv.join(' ')}: ${err.message}`);
  }
  const p = new TrackedProcess(argv.slice(0, 4).join(' '), owner, child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void p.stop();
  }, opts.timeoutMs ?? 15_000);
  const exit = await p.exited;
  clearTimeout(timer);
  // The pipes may still hold the tail of the output.
  await Promise.all(
    [child.stdout, child.stderr].map((s) => (s && !s.closed ? new Promise<void>((r) => s.once('close', () => r())) : undefined)),
  );
  const result: RunResult = { argv, ...exit, stdout, stderr, ms: performance.now() - started, timedOut };
  if ((opts.check ?? true) && (exit.code !== 0 || timedOut)) throw new CommandError(result);
  return result;
}

/** Synchronous variant for the exit path, where the event loop no longer runs. */
export function runSync(argv: readonly string[]): { code: number | null; stdout: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, stdout: r.stdout ?? '' };
}

/** Running tracked processes, optionally only those of one owner. */
export function runningProcesses(owner?: string): TrackedProcess[] {
  return [...running.values()].filter((p) => owner === undefined || p.owner === owner);
}

/** Stops the given PIDs in parallel: SIGTERM, up to `graceMs`, SIGKILL. For PIDs that are not our children. */
export async function stopPids(pids: readonly number[], graceMs = KILL_GRACE_MS): Promise<void> {
  const live = pids.filter(isAlive);
  for (const pid of live) signalPid(pid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (live.some(isAlive) && performance.now() < deadline) await sleep(50);
  for (const pid of live) if (isAlive(pid)) signalPid(pid, 'SIGKILL');
  const hard = performance.now() + 2_000;
  while (live.some(isAlive) && performance.now() < hard) await sleep(20);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The same as stopPids, blocking; used from signal and exit handlers. */
export function stopPidsSync(pids: readonly number[], graceMs = KILL_GRACE_MS): void {
  const live = pids.filter(isAlive);
  for (const pid of live) signalPid(pid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (live.some(isAlive) && performance.now() < deadline) sleepSync(50);
  for (const pid of live) if (isAlive(pid)) signalPid(pid, 'SIGKILL');
  const hard = performance.now() + 2_000;
  while (live.some(isAlive) && performance.now() < hard) sleepSync(20);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or the deadline passes. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, everyMs = 20): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() >= deadline) return undefined;
    await sleep(everyMs);
  }
}
