/**
 * Bad input to every natt-sim command (test/cli/bad-input-table.ts): each row must give
 * exit code 2, exactly one line on stderr that names what is wrong and where, no stack
 * trace, and nothing on stdout but what was read before a break. Rows run in-process
 * through main(); some also (or only: FIFOs, which would block a read) as
 * `node bin/natt-sim.js` with a timeout, which proves exit status, no stack and no hang
 * at the process level. As root, mode 000 does not stop a read, so those rows run
 * the binary without root's DAC capabilities (setpriv), or else as the unprivileged
 * user 65534. The "Bad input" table of
 * docs/robustness.md must be exactly the lines these runs print.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { readsDespiteMode000, ROOT, UNREADABLE_FOR_ROOT } from './bad-input-fixtures.ts';
import { BAD_INPUT_ROWS, BadInputFixtures, patternFor, rowKey, type BadInputRow } from './bad-input-table.ts';

const BIN = join(ROOT, 'bin/natt-sim.js');
const DOC = join(ROOT, 'docs/robustness.md');
const SPAWN_TIMEOUT_MS = 30_000;
/** The user a spawned run switches to when this process reads despite mode 000. */
const NOBODY = 65534;
/** util-linux's setpriv, to run as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => existsSync(f));

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  readonly timedOut?: boolean;
}

let fx: BadInputFixtures;
let rootReads = false;
const haveProcMem = existsSync(UNREADABLE_FOR_ROOT);
/** rowKey → the stderr line (fixture directory as $DIR), for the docs check. */
const printed = new Map<string, { argv: string[]; line: string }>();
const spawned = new Map<string, Run>();

function spawnCli(argv: string[], asNobody: boolean): Promise<Run> {
  const env = { ...process.env };
  delete env.NATT_SIM_DEBUG;
  return new Promise((resolve) => {
    // Without the capabilities that let root read anything, mode 000 stops reads while
    // the checkout (whatever its path and modes) stays readable to its owner; where
    // setpriv is missing, the run switches to the unprivileged user instead.
    const dropCaps = asNobody && SETPRIV !== undefined;
    const p = spawn(dropCaps ? SETPRIV : process.execPath, dropCaps ? ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, BIN, ...argv] : [BIN, ...argv], {
      cwd: fx.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asNobody && !dropCaps ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let out = '';
    let err = '';
    let timedOut = false;
    p.stdout.setEncoding('utf8').on('data', (s: string) => void (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => void (err += s));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, SPAWN_TIMEOUT_MS);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, out, err: `${err}spawn failed: ${e.message}\n`, timedOut });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, timedOut });
    });
  });
}

/** How a row runs here: in-process, spawned, spawned as another user. */
function plan(r: BadInputRow): { inProcess: boolean; spawn: boolean; asNobody: boolean } {
  if (r.permission && rootReads) return { inProcess: false, spawn: true, asNobody: true };
  return { inProcess: r.mode !== 'spawn', spawn: r.mode === 'spawn' || r.mode === 'both', asNobody: false };
}

const skipped = (r: BadInputRow): boolean => r.procMem === true && !haveProcMem;

beforeAll(async () => {
  fx = new BadInputFixtures(mkdtempSync(join(tmpdir(), 'natt-sim-bad-input-')));
  // Traversable by the unprivileged user of the mode-000 rows.
  chmodSync(fx.dir, 0o755);
  rootReads = readsDespiteMode000(fx);
  // Spawned runs go first, a few at a time: each one loads the CLI through tsx.
  const queue = BAD_INPUT_ROWS.filter((r) => !skipped(r) && plan(r).spawn);
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) spawned.set(rowKey(r), await spawnCli(r.argv(fx), plan(r).asNobody));
  };
  await Promise.all([worker(), worker(), worker()]);
}, 240_000);
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

function checkRun(r: BadInputRow, run: Run, how: string): string {
  expect(run.timedOut, `${how}: no hang`).not.toBe(true);
  expect(run.code, `${how}: exit code; stderr ${run.err}`).toBe(2);
  expect(run.err, `${how}: no stack trace`).not.toMatch(/^\s+at /m);
  expect(run.err.endsWith('\n'), how).toBe(true);
  const lines = run.err.slice(0, -1).split('\n');
  expect(lines, `${how}: exactly one line on stderr`).toHaveLength(1);
  const line = lines[0]!;
  expect(line.startsWith('natt-sim: '), how).toBe(true);
  expect(line.slice('natt-sim: '.length), how).toMatch(patternFor(r, fx.dir));
  if (r.out === 'partial') {
    expect(run.out.length, `${how}: what was read before the break`).toBeGreaterThan(0);
    if (r.command === 'analyze') expect(run.out).toMatch(/TRUNCATED at byte \d+/);
  } else {
    expect(run.out, `${how}: stdout`).toBe('');
  }
  return line;
}

describe('natt-sim: bad input gives one line on stderr naming what and where, exit 2', () => {
  it('covers every command', () => {
    const commands = new Set(BAD_INPUT_ROWS.map((r) => r.command));
    expect([...commands].sort()).toEqual(['(none)', 'analyze', 'decode', 'natd', 'peer', 'replay', 'simulate', 'verify']);
    expect(new Set(BAD_INPUT_ROWS.map(rowKey)).size).toBe(BAD_INPUT_ROWS.length);
  });

  for (const r of BAD_INPUT_ROWS) {
    it.skipIf(r.procMem === true && !haveProcMem)(`${r.command}: ${r.input}`, async () => {
      const p = plan(r);
      const argv = r.argv(fx);
      let line: string | undefined;
      if (p.inProcess) line = checkRun(r, await runCli(argv), 'in-process');
      if (p.spawn) {
        const s = spawned.get(rowKey(r));
        expect(s, 'spawned run').toBeDefined();
        const sl = checkRun(r, s!, p.asNobody ? `bin/natt-sim.js ${SETPRIV ? 'without CAP_DAC_*' : `as uid ${NOBODY}`}` : 'bin/natt-sim.js');
        if (line !== undefined) expect(sl).toBe(line);
        line = sl;
      }
      printed.set(rowKey(r), { argv, line: line! });
    });
  }
});

/** The docs table row of a run: input, the command line and the message, paths shortened. */
function docLine(r: BadInputRow, argv: readonly string[], line: string): string {
  const short = (s: string) => s.replaceAll(fx.dir, '$DIR').replaceAll(`${ROOT}/`, '');
  const code = (s: string) => `\`${short(s).replaceAll('|', '\\|')}\``;
  return `| ${r.input} | ${code(['natt-sim', ...argv].join(' '))} | ${code(line)} |`;
}

describe('docs/robustness.md "Bad input"', () => {
  it('tabulates exactly the lines the CLI prints, row for row', () => {
    const ran = BAD_INPUT_ROWS.filter((r) => printed.has(rowKey(r)));
    expect(ran.length).toBe(BAD_INPUT_ROWS.filter((r) => !skipped(r)).length);
    const want = ran.map((r) => docLine(r, printed.get(rowKey(r))!.argv, printed.get(rowKey(r))!.line));
    if (process.env.BAD_INPUT_TABLE_OUT) writeFileSync(process.env.BAD_INPUT_TABLE_OUT, `${want.join('\n')}\n`);
    const text = readFileSync(DOC, 'utf8');
    const start = text.indexOf('\n## Bad input\n');
    expect(start, 'a "## Bad input" section').toBeGreaterThan(0);
    const rest = text.slice(start + 1);
    const end = rest.indexOf('\n## ', 1);
    const section = end < 0 ? rest : rest.slice(0, end);
    const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| input |'));
    if (ran.length === BAD_INPUT_ROWS.length) expect(rows).toEqual(want);
    else for (const w of want) expect(rows).toContain(w);
    expect(rows).toHaveLength(BAD_INPUT_ROWS.length);
  });
});
