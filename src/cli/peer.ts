/**
 * `natt-sim peer`: one IKEv2 peer on real UDP sockets (src/live), as initiator or as a
 * long-running responder, with a userspace ESP-in-UDP tunnel that carries pings.
 *
 *   natt-sim peer --role initiator --local 10.77.0.2 --remote 198.51.100.2 --psk SECRET \
 *     --id ini.test --remote-id rsp.test --local-ts 10.77.10.1/32 --remote-ts 10.77.20.0/24 \
 *     --ping 10.77.20.1 --count 3 --keys keys/ --pcap peer.pcap
 *
 * Exit 0 when the run did what was asked (a CHILD_SA was installed, and with --ping at
 * least one echo request was answered), 1 when it did not, 2 for a bad flag (one line
 * naming it). Every run ends with a DELETE for each IKE SA (SIGINT/SIGTERM, --duration,
 * or the end of the pings).
 *
 * Raw ESP (IP protocol 50) is out of reach of node:dgram, so --encap defaults to
 * 'force' (what strongSwan 5.9.8 always does), 'off' is refused, and with 'auto' a
 * CHILD_SA negotiated without encapsulation is refused at install time.
 */
import type { Argv } from 'yargs';
import { SeededRng, formatIp, parseDuration, parsePrefix, tryParseIp, type IpAddress, type Micros, type Rng } from '../core/index.ts';
import { ConfigError, DEFAULTS, resolvePeerConfig, type EncapMode, type PeerConfig } from '../ikev2/index.ts';
import { CryptoRng, LiveError, LivePeer, RAW_ESP_UNSUPPORTED, jsonLine, textLine, type LiveEvent, type LiveRole, type PingOptions } from '../live/index.ts';
import { CliError } from './errors.ts';
import { registerCommand, type Io } from './main.ts';

export interface PeerArgs {
  role?: string;
  local?: string;
  remote?: string;
  psk?: string;
  id?: string;
  remoteId?: string;
  name?: string;
  ikeProposal?: string;
  espProposal?: string;
  localTs?: string[];
  remoteTs?: string[];
  encap?: string;
  keepalive?: string;
  dpd?: string;
  ikePort?: string;
  nattPort?: string;
  remoteIkePort?: string;
  retransmitTimeout?: string;
  retransmitTries?: string;
  rekeyIke?: string;
  rekeyChild?: string;
  inner?: string;
  ping?: string;
  count?: string;
  interval?: string;
  pingWait?: string;
  duration?: string;
  keys?: string;
  pcap?: string;
  seed?: string;
  json?: boolean;
  verbose?: boolean;
}

/** What `natt-sim peer` runs: everything validated. */
export interface PeerPlan {
  readonly role: LiveRole;
  readonly peer: PeerConfig;
  readonly encap: EncapMode;
  readonly keepaliveUs: Micros;
  readonly nattPort: number;
  readonly inner: IpAddress | undefined;
  readonly ping: PingOptions | undefined;
  readonly durationUs: Micros | undefined;
  readonly keysDir: string | undefined;
  readonly pcapPath: string | undefined;
  readonly seed: number | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

const bad = (flag: string, reason: string): CliError => new CliError(`${flag}: ${reason}`);

/** A flag given twice arrives as an array: the last one wins, as with most tools. */
function last(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? last(v[v.length - 1]) : undefined;
  if (v === undefined || v === null) return undefined;
  return String(v);
}

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(','));
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function required(flag: string, v: string | undefined, what: string): string {
  if (v === undefined || v.trim() === '') throw bad(flag, `required (${what})`);
  return v.trim();
}

function address(flag: string, v: string): IpAddress {
  const a = tryParseIp(v.trim());
  if (!a) throw bad(flag, `not an IP address: "${v}"`);
  return a;
}

function portFlag(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,5}$/.test(v.trim()) || Number(v) < 1 || Number(v) > 65535) throw bad(flag, `a UDP port is 1..65535, got "${v}"`);
  return Number(v);
}

function durationFlag(flag: string, v: string | undefined, opts: { positive?: boolean } = {}): Micros | undefined {
  if (v === undefined) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw bad(flag, `not a duration: "${v}" (e.g. "20s", "250ms", "1h")`);
  if (opts.positive && d <= 0) throw bad(flag, 'must be more than 0');
  return d;
}

function intFlag(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) throw bad(flag, `an integer ${min}..${max}, got "${v}"`);
  return Number(v);
}

/** The first address of a selector: the address of a host selector, else the one after the network address. */
export function firstAddress(ts: string): IpAddress | undefined {
  let p;
  try {
    p = parsePrefix(ts.replace(/\[.*\]$/, '').split('-')[0]!.trim());
  } catch {
    return undefined;
  }
  const max = p.addr.family === 4 ? 32 : 128;
  if (p.length === 0) return undefined;
  const bytes = new Uint8Array(p.addr.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, p.length - i * 8));
    bytes[i]! &= bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  if (p.length < max - 1) {
    for (let i = bytes.length - 1; i >= 0; i--) {
      bytes[i] = (bytes[i]! + 1) & 0xff;
      if (bytes[i] !== 0) break;
    }
  } else if (p.length === max) {
    return p.addr;
  }
  return { family: p.addr.family, bytes };
}

/** Which flag a ConfigError field of resolvePeerConfig stands for. */
export function flagOfField(field: string): string {
  const f = field.replace(/^peer\.?/, '');
  const table: [RegExp, string][] = [
    [/^localAddrs/, '--local'],
    [/^remote$|^remote\./, '--remote'],
    [/^psk/, '--psk'],
    [/^localId/, '--id'],
    [/^remoteId/, '--remote-id'],
    [/^ikeProposals/, '--ike-proposal'],
    [/^espProposals/, '--esp-proposal'],
    [/^localTs/, '--local-ts'],
    [/^remoteTs/, '--remote-ts'],
    [/^encap/, '--encap'],
    [/^keepaliveInterval/, '--keepalive'],
    [/^dpdDelay/, '--dpd'],
    [/^ports\.natt/, '--natt-port'],
    [/^ports/, '--ike-port'],
    [/^retransmit\.tries/, '--retransmit-tries'],
    [/^retransmit/, '--retransmit-timeout'],
    [/^rekey\.ike/, '--rekey-ike'],
    [/^rekey/, '--rekey-child'],
  ];
  for (const [re, flag] of table) if (re.test(f)) return flag;
  return `--${f || 'config'}`;
}

/** Validates the command line into a plan; throws CliError (exit 2) naming the flag. */
export function planPeer(a: PeerArgs): PeerPlan {
  const roleText = required('--role', last(a.role), 'initiator or responder');
  if (roleText !== 'initiator' && roleText !== 'responder') throw bad('--role', `expected "initiator" or "responder", got "${roleText}"`);
  const role: LiveRole = roleText;
  const local = address('--local', required('--local', last(a.local), 'the address to bind to'));
  if (local.bytes.every((b) => b === 0)) throw bad('--local', 'give a specific address, not a wildcard: NAT-D hashes the address the peer reaches us at');
  const ikePort = portFlag('--ike-port', last(a.ikePort), DEFAULTS.ports.ike);
  const nattPort = portFlag('--natt-port', last(a.nattPort), DEFAULTS.ports.natt);
  if (ikePort === nattPort) throw bad('--natt-port', 'must differ from --ike-port');
  const remoteIkePort = portFlag('--remote-ike-port', last(a.remoteIkePort), ikePort);
  const remoteText = last(a.remote);
  let remote: IpAddress | undefined;
  if (role === 'initiator') remote = address('--remote', required('--remote', remoteText, 'the responder address'));
  else if (remoteText !== undefined && !['%any', 'any', '0.0.0.0', '::'].includes(remoteText.trim())) remote = address('--remote', remoteText);
  if (remote && remote.family !== local.family) throw bad('--remote', `${formatIp(remote)} and --local ${formatIp(local)} are of different address families`);
  const psk = required('--psk', last(a.psk), 'the pre-shared key');
  const id = required('--id', last(a.id), 'our identity, e.g. ini.test');
  const encapText = last(a.encap) ?? 'force';
  if (encapText !== 'auto' && encapText !== 'force' && encapText !== 'off') throw bad('--encap', `expected auto, force or off, got "${encapText}"`);
  if (encapText === 'off') throw bad('--encap', RAW_ESP_UNSUPPORTED);
  const encap: EncapMode = encapText;
  const keepaliveUs = durationFlag('--keepalive', last(a.keepalive)) ?? DEFAULTS.keepaliveInterval;
  const dpdUs = durationFlag('--dpd', last(a.dpd));
  const rtTimeout = durationFlag('--retransmit-timeout', last(a.retransmitTimeout), { positive: true });
  const rtTries = intFlag('--retransmit-tries', last(a.retransmitTries), 0, 100);
  const rekeyIke = durationFlag('--rekey-ike', last(a.rekeyIke));
  const rekeyChild = durationFlag('--rekey-child', last(a.rekeyChild));
  const localTs = list(a.localTs);
  const remoteTs = list(a.remoteTs);
  if (localTs && localTs.length === 0) throw bad('--local-ts', 'empty traffic selector list');
  if (remoteTs && remoteTs.length === 0) throw bad('--remote-ts', 'empty traffic selector list');
  const remoteId = last(a.remoteId);
  const name = last(a.name) ?? 'net';
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) throw bad('--name', `1..32 letters, digits, ".", "_" or "-", got "${name}"`);

  const peer: PeerConfig = {
    name,
    localAddrs: [local],
    ...(remote ? { remote: { addr: remote, port: remoteIkePort } } : {}),
    psk,
    localId: id,
    ...(remoteId !== undefined ? { remoteId } : {}),
    ...(last(a.ikeProposal) !== undefined ? { ikeProposals: last(a.ikeProposal)! } : {}),
    ...(last(a.espProposal) !== undefined ? { espProposals: last(a.espProposal)! } : {}),
    ...(localTs ? { localTs } : {}),
    ...(remoteTs ? { remoteTs } : {}),
    encap,
    keepaliveInterval: keepaliveUs,
    ...(dpdUs !== undefined ? { dpdDelay: dpdUs } : {}),
    ...(rtTimeout !== undefined || rtTries !== undefined
      ? { retransmit: { ...(rtTimeout !== undefined ? { timeout: rtTimeout } : {}), ...(rtTries !== undefined ? { tries: rtTries } : {}) } }
      : {}),
    ...(rekeyIke !== undefined || rekeyChild !== undefined
      ? { rekey: { ...(rekeyIke !== undefined ? { ike: rekeyIke } : {}), ...(rekeyChild !== undefined ? { child: rekeyChild } : {}) } }
      : {}),
    ports: { ike: ikePort, natt: nattPort },
  };
  try {
    resolvePeerConfig(peer, 'peer');
  } catch (e) {
    if (e instanceof ConfigError) throw bad(flagOfField(e.field), e.reason);
    throw e;
  }

  const innerText = last(a.inner);
  const inner = innerText !== undefined ? address('--inner', innerText) : localTs?.[0] !== undefined ? firstAddress(localTs[0]) : undefined;
  if (inner && inner.family !== local.family) throw bad('--inner', `${formatIp(inner)} and --local ${formatIp(local)} are of different address families`);

  const pingText = last(a.ping);
  let ping: PingOptions | undefined;
  if (pingText !== undefined) {
    const dst = address('--ping', pingText);
    if (!inner) throw bad('--ping', 'no tunnel source address: give --inner or --local-ts');
    if (dst.family !== inner.family) throw bad('--ping', `${formatIp(dst)} and the inner address ${formatIp(inner)} are of different address families`);
    ping = {
      dst,
      count: intFlag('--count', last(a.count), 1, 1_000_000) ?? 3,
      intervalUs: durationFlag('--interval', last(a.interval), { positive: true }) ?? 1_000_000,
      waitUs: durationFlag('--ping-wait', last(a.pingWait), { positive: true }) ?? 2_000_000,
    };
  } else {
    for (const [flag, v] of [['--count', a.count], ['--interval', a.interval], ['--ping-wait', a.pingWait]] as const) {
      if (last(v) !== undefined) throw bad(flag, 'needs --ping');
    }
  }
  const seedText = last(a.seed);
  return {
    role,
    peer,
    encap,
    keepaliveUs,
    nattPort,
    inner,
    ping,
    durationUs: durationFlag('--duration', last(a.duration), { positive: true }),
    keysDir: last(a.keys),
    pcapPath: last(a.pcap),
    seed: seedText === undefined ? undefined : intFlag('--seed', seedText, 0, 0xffffffff),
    json: a.json === true,
    verbose: a.verbose === true,
  };
}

/** Runs a plan until the peer is done; returns the exit code. */
export async function runPeer(plan: PeerPlan, io: Io): Promise<number> {
  const ctx = { role: plan.role, natt: plan.nattPort, keepaliveUs: plan.keepaliveUs, encap: plan.encap, verbose: plan.verbose };
  const onEvent = (e: LiveEvent) => {
    if (plan.json) io.out(`${jsonLine(e)}\n`);
    else {
      const line = textLine(e, ctx);
      if (line !== undefined) io.out(`${line}\n`);
    }
  };
  const rng: Rng = plan.seed !== undefined ? new SeededRng(plan.seed) : new CryptoRng();
  let peer: LivePeer;
  try {
    peer = new LivePeer({
      role: plan.role,
      peer: plan.peer,
      rng,
      ...(plan.inner ? { inner: plan.inner } : {}),
      ...(plan.ping ? { ping: plan.ping } : {}),
      ...(plan.durationUs !== undefined ? { durationUs: plan.durationUs } : {}),
      ...(plan.keysDir !== undefined ? { keysDir: plan.keysDir } : {}),
      ...(plan.pcapPath !== undefined ? { pcapPath: plan.pcapPath } : {}),
      onEvent,
    });
  } catch (e) {
    throw asCliError(e, plan);
  }
  const onSignal = (sig: NodeJS.Signals) => peer.stop(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await peer.start();
    const result = await peer.done;
    return result.exitCode;
  } catch (e) {
    throw asCliError(e, plan);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function asCliError(e: unknown, plan: PeerPlan): unknown {
  if (e instanceof LiveError) return new CliError(e.flag ? `${e.flag}: ${e.message}` : e.message);
  if (e instanceof ConfigError) return new CliError(`${flagOfField(e.field)}: ${e.reason}`);
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') {
    const flag = plan.pcapPath !== undefined && err.path === plan.pcapPath ? '--pcap' : '--keys';
    return new CliError(`${flag}: ${err.path}: ${err.code === 'ENOENT' ? 'no such directory' : err.code === 'EACCES' ? 'permission denied' : err.message}`);
  }
  return e;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'peer',
    'run one IKEv2 peer on UDP sockets (500/4500) with an ESP-in-UDP tunnel that carries pings',
    (c) =>
      c
        .option('role', { type: 'string', describe: 'initiator | responder' })
        .option('local', { type: 'string', describe: 'address to bind to (IKE and NAT-T sockets)' })
        .option('remote', { type: 'string', describe: 'responder address (initiator); optional restriction for a responder' })
        .option('psk', { type: 'string', describe: 'pre-shared key' })
        .option('id', { type: 'string', describe: 'our identity (FQDN, user@fqdn or IP)' })
        .option('remote-id', { type: 'string', describe: 'identity required of the peer (default %any)' })
        .option('name', { type: 'string', describe: 'connection / CHILD_SA name (default net)' })
        .option('ike-proposal', { type: 'string', describe: 'IKE proposals, strongSwan syntax (default aes128gcm16-prfsha256-x25519)' })
        .option('esp-proposal', { type: 'string', describe: 'ESP proposals, strongSwan syntax (default aes128gcm16)' })
        .option('local-ts', { type: 'string', array: true, describe: 'our traffic selectors (repeat or comma-separate)' })
        .option('remote-ts', { type: 'string', array: true, describe: "the peer's traffic selectors" })
        .option('encap', { type: 'string', describe: 'force (default) | auto; off is refused: live mode has no raw ESP' })
        .option('keepalive', { type: 'string', describe: 'NAT keepalive interval when behind NAT (default 20s, 0 = off)' })
        .option('dpd', { type: 'string', describe: 'liveness check after this much inbound silence (default off)' })
        .option('ike-port', { type: 'string', describe: 'local IKE port (default 500)' })
        .option('natt-port', { type: 'string', describe: 'local NAT-T port (default 4500)' })
        .option('remote-ike-port', { type: 'string', describe: "the responder's IKE port (default: --ike-port)" })
        .option('retransmit-timeout', { type: 'string', describe: 'first retransmission after (default 4s)' })
        .option('retransmit-tries', { type: 'string', describe: 'retransmissions before giving up (default 5)' })
        .option('rekey-ike', { type: 'string', describe: 'rekey the IKE SA after (default off)' })
        .option('rekey-child', { type: 'string', describe: 'rekey the CHILD_SA after (default off)' })
        .option('inner', { type: 'string', describe: 'our tunnel address (default: first address of --local-ts)' })
        .option('ping', { type: 'string', describe: 'send ICMP echo requests to this inner address through the tunnel' })
        .option('count', { type: 'string', describe: 'echo requests to send (default 3)' })
        .option('interval', { type: 'string', describe: 'between echo requests (default 1s)' })
        .option('ping-wait', { type: 'string', describe: 'wait for replies after the last request (default 2s)' })
        .option('duration', { type: 'string', describe: 'stay up this long, then shut down cleanly (default: until SIGINT/SIGTERM)' })
        .option('keys', { type: 'string', describe: 'folder for Wireshark key files (ikev2_decryption_table, esp_sa, preferences)' })
        .option('pcap', { type: 'string', describe: 'write what this peer sends and receives (pcap, link type RAW)' })
        .option('seed', { type: 'string', describe: 'seeded randomness for reproducible runs (not secure)' })
        .option('json', { type: 'boolean', default: false, describe: 'one JSON event per line' })
        .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'also print IKE messages, keepalives and drops' }),
    async (a) => {
      const plan = planPeer(a as PeerArgs);
      (a as { __exitCode?: number }).__exitCode = await runPeer(plan, io);
    },
  ),
);
