import { DecodeError } from '../core/errors.ts';

/** A problem the user can fix (bad input, bad flag): one line on stderr, exit 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** "<file>: pcapng: block_total_length at byte 1234: reason" */
export function describeDecodeError(file: string, e: DecodeError): string {
  return `${file}: ${e.layer}: ${e.field} at byte ${e.offset}: ${e.reason}`;
}

/** The words for a failed open or read: "no such file", "permission denied", else "cannot read: EIO". */
export function ioErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : `cannot read: ${code ?? (e as Error).message}`;
}

/** Turns anything thrown at the CLI boundary into one line and an exit code; never a stack trace. */
export function errorLine(e: unknown, file?: string): { line: string; code: number } {
  if (e instanceof CliError) return { line: e.message, code: e.exitCode };
  if (e instanceof DecodeError) return { line: file ? describeDecodeError(file, e) : e.message, code: 2 };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && typeof err.code === 'string' && file) {
    const what: Record<string, string> = {
      ENOENT: 'no such file',
      EISDIR: 'is a directory, not a capture file',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
    };
    return { line: `${file}: ${what[err.code] ?? err.message}`, code: 2 };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { line: `internal error: ${msg.split('\n')[0]} (set NATT_SIM_DEBUG=1 for details)`, code: 70 };
}
