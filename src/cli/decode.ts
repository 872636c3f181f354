import type { Argv } from 'yargs';
import { registerCommand, type Io } from './main.ts';
import { CliError, describeDecodeError } from './errors.ts';
import { captureEntries, unsupportedLinkType } from './capture-input.ts';
import { Dissector } from '../analysis/dissect.ts';
import { packetJson, packetLine } from './render-packet.ts';
import { DecodeError } from '../core/errors.ts';
import { isSupportedLinkType } from '../wire/link.ts';

export interface DecodeOptions {
  capture: string;
  json: boolean;
  verbose: boolean;
}

/**
 * Prints every frame of a capture. A malformed packet is one line naming layer, field and
 * offset, and decoding goes on; a broken file (bad header, cut record) ends with one line on
 * stderr and exit 2 after everything before the break was printed.
 */
export async function runDecode(o: DecodeOptions, io: Io): Promise<number> {
  const dissector = new Dissector();
  let t0: number | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (lines.length) io.out(lines.join('\n') + '\n');
    lines = [];
  };
  try {
    for await (const e of captureEntries(o.capture)) {
      if (e.kind === 'interface' && !isSupportedLinkType(e.linktype)) {
        flush();
        throw unsupportedLinkType(o.capture, e.linktype, e.interfaceId);
      }
      if (e.kind !== 'packet') continue;
      t0 ??= e.timestampUs;
      const d = dissector.dissect(e);
      lines.push(o.json ? JSON.stringify(packetJson(d)) : packetLine(d, t0, o.verbose));
      if (lines.length >= 256) flush();
    }
  } catch (e) {
    flush();
    if (e instanceof DecodeError) throw new CliError(describeDecodeError(o.capture, e));
    throw e;
  }
  flush();
  return 0;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'decode <capture>',
    'print one line per packet: IKE exchanges, NAT-D, NONESP-encap, UDP-encap ESP, NAT keepalives',
    (c) =>
      c
        .positional('capture', { type: 'string', demandOption: true, describe: 'pcap or pcapng file' })
        .option('json', { type: 'boolean', default: false, describe: 'one JSON record per packet' })
        .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'payload details' }),
    async (a) => {
      (a as { __exitCode?: number }).__exitCode = await runDecode(
        { capture: a.capture as string, json: a.json as boolean, verbose: a.verbose as boolean },
        io,
      );
    },
  ),
);
