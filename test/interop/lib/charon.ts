/**
 * One strongSwan 5.9.8 charon inside a lab namespace, started as the lab
 * README (§3, §4) prescribes:
 *
 *   ip netns exec NS unshare --mount --propagation private sh -c \
 *     'mount --bind DIR/run /run && exec /usr/lib/ipsec/charon'     (STRONGSWAN_CONF=DIR/strongswan.conf)
 *
 * Every step execs, so the tracked PID is charon's own; its pid file lands in
 * DIR/run, never in the host's /run. Config, vici socket and the level-4 log
 * (which is where the keys are: kernel-libipsec leaves the kernel empty) live
 * in DIR. swanctl runs on the host against the instance's vici socket.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, run, spawnTracked, waitFor, type RunResult, type TrackedProcess } from './proc.ts';
import { parseListSas, type IkeSaStatus } from './list-sas.ts';
import { parseCharonKeyLog, wiresharkRows, type CharonKeyLog, type WiresharkRows } from './keylog.ts';

export const CHARON = '/usr/lib/ipsec/charon';
export const SWANCTL = '/usr/sbin/swanctl';
/** kernel-libipsec must come before kernel-netlink (the kernel has no ESP); kdf is needed for PRF_HMAC_SHA2_* in 5.9.8. */
export const CHARON_PLUGINS = 'random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici';

/** The credential folders swanctl --load-all opens next to swanctl.conf. */
const SWANCTL_DIRS = ['x509', 'x509ca', 'x509aa', 'x509ocsp', 'x509crl', 'x509ac', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12'];

export interface CharonSettings {
  /** NAT keepalive interval in seconds (charon.keep_alive); 0 turns keepalives off. Default 20. */
  readonly keepAliveS?: number;
  /** charon.retransmit_tries; default 2 so a failed negotiation ends in seconds, not 165 s. */
  readonly retransmitTries?: number;
  /** charon.retransmit_timeout in seconds (default 4 in charon; 1 here). */
  readonly retransmitTimeoutS?: number;
  /** charon.retransmit_base (default 1.8). */
  readonly retransmitBase?: number;
  /** charon.port / charon.port_nat_t. */
  readonly port?: number;
  readonly portNatT?: number;
  /** Extra lines inside `charon { ... }`. */
  readonly extra?: string;
}

export function strongswanConf(dir: string, s: CharonSettings = {}): string {
  const lines = [
    'charon {',
    `  load = ${CHARON_PLUGINS}`,
    `  keep_alive = ${s.keepAliveS ?? 20}s`,
    `  retransmit_tries = ${s.retransmitTries ?? 2}`,
    `  retransmit_timeout = ${s.retransmitTimeoutS ?? 1}`,
    `  retransmit_base = ${s.retransmitBase ?? 1.8}`,
    ...(s.port !== undefined ? [`  port = ${s.port}`] : []),
    ...(s.portNatT !== undefined ? [`  port_nat_t = ${s.portNatT}`] : []),
    `  plugins {`,
    `    vici {`,
    `      socket = unix://${join(dir, 'charon.vici')}`,
    `    }`,
    `  }`,
    '  filelog {',
    '    keys {',
    `      path = ${join(dir, 'charon.log')}`,
    '      time_format = %Y-%m-%dT%H:%M:%S',
    '      time_add_ms = yes',
    '      ike_name = yes',
    '      flush_line = yes',
    '      default = 1',
    '      mgr = 2',
    '      ike = 4',
    '      chd = 4',
    '    }',
    '  }',
    ...(s.extra ? [s.extra] : []),
    '}',
    // swanctl reads the same file through STRONGSWAN_CONF; without a load list it
    // tries a dozen plugins that Debian does not ship and complains on stderr.
    'swanctl {',
    '  load = random openssl',
    '}',
  ];
  return lines.join('\n') + '\n';
}

export interface PskConnection {
  /** Connection name (default "lab"). */
  readonly name?: string;
  /** Child name (default "net"). */
  readonly child?: string;
  /** The peer's address(es); set on an initiator, leave out (%any) on a responder. */
  readonly remoteAddrs?: string;
  readonly localAddrs?: string;
  readonly localId: string;
  /** Default %any. */
  readonly remoteId?: string;
  readonly psk: string;
  /** Default "aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048". */
  readonly proposals?: string;
  /** Default "aes128gcm16, aes256-sha256". */
  readonly espProposals?: string;
  readonly localTs: string;
  /** Default 0.0.0.0/0 (narrowed to what the initiator proposes). */
  readonly remoteTs?: string;
  /** Default false: with MOBIKE the initiator floats to 4500 even without NAT. */
  readonly mobike?: boolean;
  /** Force UDP encapsulation (encap = yes). */
  readonly encap?: boolean;
  /** dpd_delay in seconds. */
  readonly dpdDelayS?: number;
  /**
   * The CHILD_SA's rekey_time in seconds, with rand_time = 0 so it happens exactly then, and
   * life_time = rekey_time + 10 s (the default, 110 %, rounds down to rekey_time for small
   * values, and the CHILD_SA then expires hard and is recreated instead of rekeyed).
   */
  readonly childRekeyS?: number;
}

/** A swanctl.conf for one PSK IKEv2 tunnel-mode connection (README §4). */
export function pskSwanctlConf(c: PskConnection): string {
  const q = (s: string) => `"${s.replace(/["\\]/g, (x) => `\\${x}`)}"`;
  const name = c.name ?? 'lab';
  const child = c.child ?? 'net';
  return [
    'connections {',
    `  ${name} {`,
    '    version = 2',
    `    proposals = ${c.proposals ?? 'aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048'}`,
    `    mobike = ${c.mobike ? 'yes' : 'no'}`,
    ...(c.encap ? ['    encap = yes'] : []),
    ...(c.dpdDelayS !== undefined ? [`    dpd_delay = ${c.dpdDelayS}s`] : []),
    ...(c.remoteAddrs ? [`    remote_addrs = ${c.remoteAddrs}`] : []),
    ...(c.localAddrs ? [`    local_addrs = ${c.localAddrs}`] : []),
    '    local {',
    '      auth = psk',
    `      id = ${c.localId}`,
    '    }',
    '    remote {',
    '      auth = psk',
    ...(c.remoteId ? [`      id = ${c.remoteId}`] : []),
    '    }',
    '    children {',
    `      ${child} {`,
    `        local_ts = ${c.localTs}`,
    `        remote_ts = ${c.remoteTs ?? '0.0.0.0/0'}`,
    `        esp_proposals = ${c.espProposals ?? 'aes128gcm16, aes256-sha256'}`,
    ...(c.childRekeyS !== undefined
      ? [`        rekey_time = ${c.childRekeyS}s`, `        life_time = ${c.childRekeyS + 10}s`, '        rand_time = 0s']
      : []),
    '      }',
    '    }',
    '  }',
    '}',
    'secrets {',
    '  ike-any {',
    `    secret = ${q(c.psk)}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface CharonStartOptions extends CharonSettings {
  /** Instance name, unique within the lab (default: the namespace role). */
  readonly name?: string;
  /** swanctl.conf text, loaded with --load-all once the vici socket is up. Leave out to load nothing. */
  readonly swanctlConf?: string;
  /** How long to wait for the vici socket (default 5 s). */
  readonly startTimeoutMs?: number;
}

export interface SwanctlOutcome {
  readonly ok: boolean;
  readonly code: number | null;
  /** stdout and stderr together, as swanctl prints its log lines on stdout. */
  readonly output: string;
  readonly ms: number;
}

export class Charon {
  readonly vici: string;
  readonly logFile: string;
  readonly confFile: string;
  readonly swanctlFile: string;
  readonly outFile: string;
  readonly runDir: string;

  private constructor(
    readonly owner: string,
    readonly name: string,
    /** Namespace name. */
    readonly ns: string,
    readonly dir: string,
    readonly process: TrackedProcess,
    /** Milliseconds from spawn until the vici socket appeared. */
    readonly startMs: number,
  ) {
    this.vici = `unix://${join(dir, 'charon.vici')}`;
    this.logFile = join(dir, 'charon.log');
    this.confFile = join(dir, 'strongswan.conf');
    this.swanctlFile = join(dir, 'swanctl', 'swanctl.conf');
    this.outFile = join(dir, 'charon.out');
    this.runDir = join(dir, 'run');
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Writes the instance folder, starts charon and waits for its vici socket (then loads swanctlConf if given). */
  static async start(owner: string, ns: string, dir: string, opts: CharonStartOptions & { name: string }): Promise<Charon> {
    mkdirSync(join(dir, 'run'), { recursive: true });
    for (const d of SWANCTL_DIRS) mkdirSync(join(dir, 'swanctl', d), { recursive: true });
    writeFileSync(join(dir, 'strongswan.conf'), strongswanConf(dir, opts));
    writeFileSync(join(dir, 'swanctl', 'swanctl.conf'), opts.swanctlConf ?? '');
    const started = performance.now();
    const proc = spawnTracked(
      owner,
      `charon ${opts.name}`,
      [
        'ip',
        'netns',
        'exec',
        ns,
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" /run && exec "$2"',
        'charon-start',
        join(dir, 'run'),
        CHARON,
      ],
      { env: { STRONGSWAN_CONF: join(dir, 'strongswan.conf') }, logFile: join(dir, 'charon.out') },
    );
    const socket = join(dir, 'charon.vici');
    const up = await waitFor(() => (existsSync(socket) ? true : proc.isRunning ? undefined : false), opts.startTimeoutMs ?? 5_000);
    const c = new Charon(owner, opts.name, ns, dir, proc, performance.now() - started);
    if (up !== true) {
      await proc.stop();
      throw new Error(`charon ${opts.name} did not open ${socket} (${proc.exit ? `exited ${JSON.stringify(proc.exit)}` : 'timeout'}):\n${c.tail()}`);
    }
    if (opts.swanctlConf !== undefined) await c.loadAll();
    return c;
  }

  /** The last lines of charon's stdout/stderr and log, for error messages. */
  tail(lines = 30): string {
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '');
    return [read(this.outFile), read(this.logFile)].filter((s) => s !== '').join('\n');
  }

  /** Runs swanctl with the command first and --uri after it (5.9.8 rejects the other order). */
  async swanctl(args: readonly string[], timeoutMs = 20_000): Promise<SwanctlOutcome> {
    const r: RunResult = await run(this.owner, [SWANCTL, ...args, '--uri', this.vici], {
      env: { STRONGSWAN_CONF: this.confFile },
      check: false,
      timeoutMs,
    });
    return { ok: r.code === 0 && !r.timedOut, code: r.code, output: r.stdout + r.stderr, ms: r.ms };
  }

  private async must(args: readonly string[], timeoutMs?: number): Promise<SwanctlOutcome> {
    const o = await this.swanctl(args, timeoutMs);
    if (!o.ok) {
      throw new CommandError({
        argv: [SWANCTL, ...args],
        code: o.code,
        signal: null,
        stdout: o.output,
        stderr: '',
        ms: o.ms,
        timedOut: false,
      });
    }
    return o;
  }

  /** swanctl --load-all of the instance's swanctl.conf (optionally replacing it first). */
  async loadAll(conf?: string): Promise<SwanctlOutcome> {
    if (conf !== undefined) writeFileSync(this.swanctlFile, conf);
    return this.must(['--load-all', '--noprompt', '--file', this.swanctlFile]);
  }

  /** swanctl --initiate; resolves with the outcome whether or not it succeeded. */
  initiate(opts: { child?: string; ike?: string; timeoutS?: number } = {}): Promise<SwanctlOutcome> {
    const timeoutS = opts.timeoutS ?? 10;
    return this.swanctl(
      ['--initiate', ...(opts.ike ? ['--ike', opts.ike] : []), '--child', opts.child ?? 'net', '--timeout', String(timeoutS)],
      (timeoutS + 5) * 1000,
    );
  }

  /** swanctl --terminate --ike NAME; sends a DELETE, so do it before stopping a capture. */
  terminate(opts: { ike?: string; timeoutS?: number } = {}): Promise<SwanctlOutcome> {
    const timeoutS = opts.timeoutS ?? 5;
    return this.swanctl(['--terminate', '--ike', opts.ike ?? 'lab', '--timeout', String(timeoutS)], (timeoutS + 5) * 1000);
  }

  /** swanctl --list-sas --raw, parsed. */
  async listSas(): Promise<IkeSaStatus[]> {
    return parseListSas((await this.must(['--list-sas', '--raw'])).output);
  }

  /** The charon level-4 log as written so far. */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Keys per IKE_SA and CHILD_SA from the log. */
  keyLog(): CharonKeyLog {
    return parseCharonKeyLog(this.log());
  }

  /** Wireshark rows for everything in the log. */
  wiresharkRows(): WiresharkRows {
    return wiresharkRows(this.keyLog());
  }

  /** The PID charon wrote into its private /run (proves the bind mount took effect). */
  pidFile(): number | undefined {
    const f = join(this.runDir, 'charon.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
  }
}
