/** Opening capture files for the commands: the checks a user needs one clear line for. */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { CliError, ioErrorText as errnoText } from './errors.ts';
import { readCapture } from '../pcap/reader.ts';
import type { CaptureEntry } from '../pcap/format.ts';

export function checkCaptureFile(file: string): { size: number } {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  if (st.isDirectory()) throw new CliError(`${file}: is a directory, not a capture file`);
  if (!st.isFile()) throw new CliError(`${file}: not a regular file`);
  return { size: st.size };
}

/**
 * Reads a text input (key table, expectations, scenario): a path that is missing, a
 * directory, not a regular file (a FIFO would block the read for ever) or unreadable
 * is one CliError naming it. `kind` completes "is a directory, not <kind>".
 */
export function readTextInput(file: string, kind: string): string {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new CliError(`${file}: ${errnoText(e)}`);
  }
  if (st.isDirectory()) throw new CliError(`${file}: is a directory, not ${kind}`);
  if (!st.isFile()) throw new CliError(`${file}: not a regular file`);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: ${errnoText(e)}`);
  }
}

/** A link type natt-sim cannot strip, as one line naming the file (and the pcapng interface). */
export function unsupportedLinkType(file: string, linktype: number, interfaceId?: number): CliError {
  return new CliError(
    `${file}: link type ${linktype}${interfaceId !== undefined ? ` (interface ${interfaceId})` : ''} is not supported: natt-sim reads Ethernet (1), RAW (101, 12, 14, 228, 229), NULL (0), LOOP (108), LINUX_SLL (113) and LINUX_SLL2 (276)`,
  );
}

/** Streams a capture's entries in constant memory. Read errors become one-line CliErrors naming the file. */
export async function* captureEntries(file: string): AsyncGenerator<CaptureEntry> {
  checkCaptureFile(file);
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  const chunks = (async function* () {
    try {
      for await (const c of stream) yield c as Uint8Array;
    } catch (e) {
      throw new CliError(`${file}: ${errnoText(e)}`);
    }
  })();
  yield* readCapture(chunks);
}
