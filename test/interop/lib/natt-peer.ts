/**
 * `natt-sim peer` inside a lab namespace, in place of one charon.
 *
 *   ip netns exec NS node bin/natt-sim.js peer --json --keys DIR/keys ...
 *
 * It runs as a tracked process of the lab (stopped by `lab.close()` whatever
 * happens), prints one JSON event per line (kept here, and copied to
 * DIR/natt-sim.out for NATT_INTEROP_KEEP=1 runs), and writes its Wireshark key
 * files to DIR/keys. `rows()` reads those files back as the rows `lab.decrypt`
 * takes: the keys natt-sim exported, not the ones charon logged.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WiresharkRows } from './keylog.ts';
import type { ExitInfo, TrackedProcess } from './proc.ts';

export const NATT_SIM_BIN = new URL('../../../bin/natt-sim.js', import.meta.url).pathname;

/** One `--json` line of `natt-sim peer`. */
export type PeerEvent = { readonly type: string; readonly at: number } & Record<string, unknown>;

/** What a lab offers to start a process in a namespace (Lab.spawn). */
export interface Spawner {
  spawn(role: 'ini' | 'rsp', label: string, argv: readonly string[], opts?: { env?: Record<string, string> }): TrackedProcess;
}

export interface NattPeerOptions {
  /** The namespace the peer runs in. */
  readonly role: 'ini' | 'rsp';
  /** The `peer` flags, without --json and --keys (added here). */
  readonly args: readonly string[];
  /** The peer's own folder (key files, stdout copy); created. */
  readonly dir: string;
}

export class NattPeer {
  readonly events: PeerEvent[] = [];
  readonly keysDir: string;
  readonly outFile: string;
  readonly argv: readonly string[];
  stderr = '';
  private buf = '';
  /** Resolves once stdout is closed: every event has been read. */
  private readonly drained: Promise<void>;
  private waiters: { match: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = [];

  private constructor(
    readonly process: TrackedProcess,
    dir: string,
    argv: readonly string[],
  ) {
    this.keysDir = join(dir, 'keys');
    this.outFile = join(dir, 'natt-sim.out');
    this.argv = argv;
    process.child.stdout!.setEncoding('utf8').on('data', (s: string) => this.onData(s));
    this.drained = new Promise((resolve) => process.child.stdout!.once('close', () => resolve()));
    process.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      appendFileSync(this.outFile, s);
    });
  }

  static start(lab: Spawner, opts: NattPeerOptions): NattPeer {
    mkdirSync(opts.dir, { recursive: true });
    const argv = [process.execPath, NATT_SIM_BIN, 'peer', ...opts.args, '--json', '--keys', join(opts.dir, 'keys')];
    const p = lab.spawn(opts.role, `natt-sim ${opts.role}`, argv);
    return new NattPeer(p, opts.dir, argv);
  }

  private onData(s: string): void {
    appendFileSync(this.outFile, s);
    this.buf += s;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as PeerEvent;
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    }
  }

  get pid(): number {
    return this.process.pid;
  }

  /** The exit, once every line the process printed has been read. */
  get exited(): Promise<ExitInfo> {
    return Promise.all([this.process.exited, this.drained]).then(([e]) => e);
  }

  /** Every event of a type, in order. */
  of(type: string): PeerEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The first event (already seen or still to come) of `type` that passes `match`. */
  waitFor(type: string, timeoutMs = 10_000, match: (e: PeerEvent) => boolean = () => true): Promise<PeerEvent> {
    const m = (e: PeerEvent) => e.type === type && match(e);
    const seen = this.events.find(m);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`natt-sim peer: no "${type}" event within ${timeoutMs} ms; events: ${this.events.map((e) => e.type).join(' ')}; stderr: ${this.stderr.trim()}`));
      }, timeoutMs);
      const done = (e: PeerEvent) => {
        clearTimeout(t);
        resolve(e);
      };
      this.waiters.push({ match: m, resolve: done });
      // The process may end without ever printing it.
      void this.exited.then(() => {
        if (!this.waiters.some((w) => w.resolve === done)) return;
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        clearTimeout(t);
        reject(new Error(`natt-sim peer exited (${JSON.stringify(this.process.exit)}) without a "${type}" event; events: ${this.events.map((e) => e.type).join(' ')}; stderr: ${this.stderr.trim()}`));
      });
    });
  }

  /** The Wireshark rows natt-sim wrote to --keys (`ikev2_decryption_table`, `esp_sa`). */
  rows(): WiresharkRows {
    const read = (f: string) => {
      const file = join(this.keysDir, f);
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '') : [];
    };
    return { ikev2: read('ikev2_decryption_table'), esp: read('esp_sa') };
  }

  /** SIGINT: a DELETE for every IKE SA, then exit. SIGKILL after 5 s. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<ExitInfo> {
    await this.process.stop(signal);
    return this.exited;
  }
}
