import yargs from 'yargs';
import type { Argv } from 'yargs';
import { CliError, errorLine } from './errors.ts';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

type Command = (y: Argv, io: Io) => Argv;

/** Each command module registers itself here; main() stays a thin shell. */
const commands: Command[] = [];

export function registerCommand(c: Command): void {
  commands.push(c);
}

/**
 * Runs the CLI; returns the exit code (0 ok, 1 a check failed, 2 bad input or usage,
 * 70 an internal error). Writes nothing but one line on stderr on failure.
 */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  await import('./commands.ts');
  let code = 0;
  const y = yargs(argv)
    .scriptName('natt-sim')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'give a command (see --help)')
    .recommendCommands()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((msg, err) => {
      throw err ?? new CliError(msg ?? 'bad command line');
    })
    .help()
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  for (const c of commands) c(y, io);
  // A flag given twice arrives as an array: the last one wins, as with most tools; array
  // options (--map, --local-ts, the capture list) keep every value.
  y.middleware((a) => {
    const arrays = new Set((y as unknown as { getOptions(): { array: string[] } }).getOptions().array);
    for (const [k, v] of Object.entries(a)) {
      if (k === '_' || !Array.isArray(v) || arrays.has(k) || arrays.has(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))) continue;
      (a as Record<string, unknown>)[k] = v.at(-1);
    }
  });
  try {
    const parsed = (await y.parseAsync()) as { __exitCode?: number };
    code = parsed.__exitCode ?? 0;
  } catch (e) {
    if (process.env.NATT_SIM_DEBUG) io.err(`${(e as Error).stack}\n`);
    const r = errorLine(e);
    io.err(`natt-sim: ${r.line}\n`);
    code = r.code;
  }
  return code;
}
