/**
 * `natt-sim replay <capture> --scenario <file.yaml> [--out DIR] [--map ADDR=HOST[.IFACE]]... [--json]`
 *
 * Replays a capture's UDP and ESP datagrams through a scenario's NATs, firewalls and
 * links (src/sim/replay.ts), writes every tap as pcapng plus all-taps.pcapng and
 * report.json into DIR (default: a new directory named after the capture and the
 * scenario), and prints a summary (or the JSON report with --json). Exit 0 when
 * every flow made it, 1 when one would have broken, 2 for bad input: a missing or
 * broken capture, a scenario problem (`file:line: key: problem`; a scenario with
 * `attackers:` is refused by parseReplayScenario), a bad --map.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { registerCommand, type Io } from './main.ts';
import { CliError, describeDecodeError } from './errors.ts';
import { checkCaptureFile, readTextInput, unsupportedLinkType } from './capture-input.ts';
import { fileSource } from './analysis-run.ts';
import { renderReplay } from './render-replay.ts';
import { DecodeError } from '../core/errors.ts';
import type { CaptureSource } from '../analysis/source.ts';
import { isSupportedLinkType } from '../wire/link.ts';
import { formatIp, tryParseIp } from '../core/addr.ts';
import { mergedPcapng } from '../sim/tap.ts';
import { concatAll } from '../core/bytes.ts';
import { formatIssue } from '../sim/scenario.ts';
import { checkMapEntry, parseHostRef, parseReplayScenario } from '../sim/replay-scenario.ts';
import { replayCapture, ReplayInputError } from '../sim/replay.ts';
import type { MapRequest } from '../sim/replay-map.ts';

export interface ReplayCliOptions {
  readonly capture: string;
  readonly scenario: string;
  readonly out?: string;
  readonly map?: readonly string[];
  readonly json: boolean;
}

export const MERGED_FILE = 'all-taps.pcapng';
export const REPORT_FILE = 'report.json';

function readScenarioFile(file: string): string {
  return readTextInput(file, 'a scenario file');
}

/** The source's entries, refusing (CliError) an interface whose link type natt-sim cannot strip. */
function supportedLinksOnly(src: CaptureSource): CaptureSource {
  return {
    name: src.name,
    async *entries() {
      for await (const e of src.entries()) {
        if (e.kind === 'interface' && !isSupportedLinkType(e.linktype)) throw unsupportedLinkType(src.name, e.linktype, e.interfaceId);
        yield e;
      }
    },
  };
}

function freshDir(capture: string, scenario: string): string {
  const base = `replay-${basename(capture, extname(capture))}-${scenario}`.replace(/[^A-Za-z0-9._-]/g, '_');
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

export async function runReplay(o: ReplayCliOptions, io: Io): Promise<number> {
  checkCaptureFile(o.capture);
  const parsed = parseReplayScenario(readScenarioFile(o.scenario), o.scenario);
  if (!parsed.ok) {
    const more = parsed.issues.length - 1;
    throw new CliError(`${formatIssue(parsed.issues[0]!)}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}`);
  }
  const requests: MapRequest[] = [];
  for (const m of o.map ?? []) {
    const eq = m.indexOf('=');
    const addr = eq > 0 ? tryParseIp(m.slice(0, eq).trim()) : undefined;
    const ref = eq > 0 ? parseHostRef(m.slice(eq + 1)) : undefined;
    if (!addr || !ref) throw new CliError(`--map ${m}: expected CAPTURED_ADDRESS=HOST or CAPTURED_ADDRESS=HOST.INTERFACE`);
    const problem = checkMapEntry(parsed.scenario, { captured: addr, ...ref });
    if (problem) throw new CliError(`--map ${formatIp(addr)}=${m.slice(eq + 1)}: ${problem}`);
    requests.push({ captured: addr, ...ref, rule: 'option' });
  }
  for (const e of parsed.replay.map) requests.push({ ...e, rule: 'scenario' });

  let result;
  try {
    result = await replayCapture(supportedLinksOnly(fileSource(o.capture)), { scenario: parsed.scenario, start: parsed.replay.start, map: requests });
  } catch (e) {
    if (e instanceof DecodeError) throw new CliError(describeDecodeError(o.capture, e));
    if (e instanceof ReplayInputError) throw new CliError(`${o.capture}: ${e.message}`);
    throw e;
  }
  const { report, taps } = result;

  const dir = o.out ?? freshDir(o.capture, parsed.scenario.name);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`${dir}: cannot create the output directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const files: string[] = [];
  const write = (name: string, data: Uint8Array | string): void => {
    try {
      writeFileSync(join(dir, name), data);
    } catch (e) {
      throw new CliError(`${join(dir, name)}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    files.push(name);
  };
  write(MERGED_FILE, concatAll(mergedPcapng(taps)));
  for (const t of taps) write(`${t.name}.pcapng`, concatAll(t.chunks));
  write(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);

  io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderReplay(report, dir, files));
  if (report.truncated) {
    io.err(`natt-sim: ${o.capture}: capture: record at byte ${report.truncated.offset}: ${report.truncated.reason} (replayed what came before)\n`);
    return 2;
  }
  return report.verdict === 'broken' ? 1 : 0;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'replay <capture>',
    "replay a capture's UDP and ESP through a scenario's NATs and firewalls: taps, and which flows would have broken",
    (c) =>
      c
        .positional('capture', { type: 'string', demandOption: true, describe: 'pcap or pcapng file' })
        .option('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML (docs/scenario-reference.md), optionally with a replay: section' })
        .option('out', { type: 'string', describe: 'directory for the taps (pcapng) and report.json (default: a new replay-<capture>-<scenario> directory)' })
        .option('map', { type: 'string', array: true, describe: 'CAPTURED_ADDRESS=HOST[.INTERFACE]: which host plays a captured address (repeatable)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the JSON report instead of the summary' }),
    async (a) => {
      (a as { __exitCode?: number }).__exitCode = await runReplay(
        {
          capture: a.capture as string,
          scenario: a.scenario as string,
          ...(a.out !== undefined ? { out: a.out as string } : {}),
          ...(a.map !== undefined ? { map: a.map as string[] } : {}),
          json: a.json as boolean,
        },
        io,
      );
    },
  ),
);
