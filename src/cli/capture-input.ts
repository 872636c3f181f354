/** Opening capture files for the commands: the checks a user needs one clear line for. */
import { createReadStream, statSync } from 'node:fs';
import { CliError } from './errors.ts';
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

/** Streams a capture's entries in constant memory. Read errors become one-line CliErrors naming the file. */
export async function* captureEntries(file: string): AsyncGenerator<CaptureEntry> {
  checkCaptureFile(file);
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  const chunks = (async function* () {
    try {
      for await (const c of stream) yield c as Uint8Array;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(`${file}: cannot read: ${code ?? (e as Error).message}`);
    }
  })();
  yield* readCapture(chunks);
}
