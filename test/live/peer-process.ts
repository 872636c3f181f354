/**
 * `natt-sim peer` as a child process: collects its stdout line by line, waits for a
 * line, signals it by PID, and remembers every PID so a test file can kill whatever
 * is left in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/natt-sim.js');

export class PeerProcess {
  static readonly all = new Set<PeerProcess>();
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  private buf = '';

  constructor(readonly args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, 'peer', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    PeerProcess.all.add(this);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.re.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) =>
      this.child.on('exit', (code) => {
        PeerProcess.all.delete(this);
        r(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get text(): string {
    return this.lines.join('\n');
  }

  /** The first line (already printed or still to come) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${this.text}\n${this.stderr}`)), timeoutMs);
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, sig);
  }

  /** JSON events printed with --json. */
  events(): Record<string, unknown>[] {
    return this.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Kills every process still running, by PID. */
  static killAll(): void {
    for (const p of PeerProcess.all) p.signal('SIGKILL');
  }
}
