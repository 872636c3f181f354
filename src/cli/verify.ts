/**
 * `natt-sim verify <capture...> --expect FILE [--keys DIR|FILE] [--nat-timeout DURATION]`
 *
 * Analyses the captures and checks the report against the expectations in FILE
 * (docs/verify.md). Exit 0 when every assertion holds; 1 with one line per failed
 * assertion ("FILE:LINE: path: expected X, got Y"); 2 for a bad expectation file
 * ("FILE:LINE: path: problem") or bad input.
 */
import type { Argv } from 'yargs';
import { registerCommand, type Io } from './main.ts';
import { CliError } from './errors.ts';
import { runAnalysis } from './analysis-run.ts';
import { readTextInput } from './capture-input.ts';
import { ExpectationError, compileExpectations, failureText, type CompiledExpectations } from '../analysis/expect.ts';

export interface VerifyOptions {
  readonly captures: readonly string[];
  readonly expect: string;
  readonly keys?: string;
  readonly natTimeout?: string;
}

export function loadExpectations(file: string): CompiledExpectations {
  const text = readTextInput(file, 'an expectation file');
  try {
    return compileExpectations(text);
  } catch (e) {
    if (e instanceof ExpectationError) throw new CliError(`${file}:${e.line}: ${e.path ? `${e.path}: ` : ''}${e.problem}`);
    throw e;
  }
}

export async function runVerify(o: VerifyOptions, io: Io): Promise<number> {
  const expectations = loadExpectations(o.expect);
  const { report, error } = await runAnalysis(o);
  if (error) throw new CliError(error);
  const failures = expectations.evaluate(report);
  if (failures.length === 0) {
    io.out(`natt-sim verify: all ${expectations.assertions} assertion(s) hold\n`);
    return 0;
  }
  io.out(failures.map((f) => `${o.expect}:${f.line}: ${failureText(f)}\n`).join(''));
  io.err(`natt-sim verify: ${failures.length} failed assertion(s) of ${expectations.assertions}\n`);
  return 1;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'verify <captures...>',
    'analyse captures and check the report against a YAML expectation file (for CI)',
    (c) =>
      c
        .positional('captures', { type: 'string', array: true, demandOption: true, describe: 'pcap or pcapng files, analysed together in this order' })
        .option('expect', { type: 'string', demandOption: true, describe: 'YAML expectations (docs/verify.md)' })
        .option('keys', { type: 'string', describe: 'Wireshark UAT keys: a directory with ikev2_decryption_table and/or esp_sa, or one such file' })
        .option('nat-timeout', { type: 'string', default: '30s', describe: 'NAT mapping lifetime for the keepalive checks' }),
    async (a) => {
      (a as { __exitCode?: number }).__exitCode = await runVerify(
        {
          captures: a.captures as string[],
          expect: a.expect as string,
          ...(a.keys !== undefined ? { keys: a.keys as string } : {}),
          natTimeout: a['nat-timeout'] as string,
        },
        io,
      );
    },
  ),
);
