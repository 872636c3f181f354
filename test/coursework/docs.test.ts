/**
 * The examples in docs/concepts.md and in the decode/analyze/verify/natd sections of
 * docs/cli-reference.md are natt-sim's real output. Every untagged code block is
 * checked: a block that starts with `$ natt-sim ...` is run and each of its other
 * lines must appear in that command's output; any other untagged block must consist
 * of lines natt-sim prints for the shipped capture pcaps/strongswan-nat-outside.pcap.
 * A line ending in " ..." is a prefix; a line that is just "..." stands for lines left
 * out. Blocks tagged ```sh or ```text (commands, synopses, drawings) are not checked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from './support.ts';

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lines: string[];
}

function untaggedBlocks(file: string, from?: string): Block[] {
  let text = readFileSync(join(ROOT, file), 'utf8');
  let offset = 0;
  if (from !== undefined) {
    const i = text.indexOf(from);
    expect(i, `${file} has the heading ${from}`).toBeGreaterThan(-1);
    offset = text.slice(0, i).split('\n').length - 1;
    text = text.slice(i);
  }
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i]!);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') j++;
    if (open[1] === '') out.push({ file, line: offset + i + 1, lines: lines.slice(i + 1, j) });
    i = j;
  }
  return out;
}

/** "natt-sim natd --addr '[2001:db8::2]:500'" → argv, paths under pcaps/ made absolute. */
function argv(command: string): string[] {
  const words = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  expect(words[0]).toBe('natt-sim');
  return words.slice(1).map((w) => (w.startsWith('pcaps/') ? join(ROOT, w) : w));
}

function expectLines(block: Block, output: string): void {
  const have = output.split('\n');
  for (const l of block.lines) {
    if (l.trim() === '...' || l.trim() === '') continue;
    const where = `${block.file}:${block.line}: ${l}`;
    if (l.endsWith(' ...')) expect(have.some((h) => h.startsWith(l.slice(0, -4))), where).toBe(true);
    else expect(have, where).toContain(l);
  }
}

const SHIPPED = join(ROOT, 'pcaps/strongswan-nat-outside.pcap');
let corpus = '';
beforeAll(async () => {
  const runs = await Promise.all([
    runCli(['decode', SHIPPED]),
    runCli(['decode', '-v', SHIPPED]),
    runCli(['analyze', SHIPPED]),
    runCli(['analyze', SHIPPED, '--explain']),
  ]);
  for (const r of runs) expect(r.code).toBe(0);
  corpus = runs.map((r) => r.out).join('\n');
});

const blocks = [...untaggedBlocks('docs/concepts.md'), ...untaggedBlocks('docs/cli-reference.md', '## Errors and exit codes (decode, analyze, verify, natd)')];

describe('documentation examples are real output', () => {
  it('finds the example blocks', () => {
    expect(blocks.length).toBeGreaterThan(15);
  });

  for (const b of blocks) {
    it(`${b.file}:${b.line}`, async () => {
      const first = b.lines[0] ?? '';
      if (first.startsWith('$ natt-sim ')) {
        const r = await runCli(argv(first.slice(2)));
        expect(r.code, r.err).toBe(0);
        expectLines({ ...b, lines: b.lines.slice(1) }, r.out);
      } else {
        expectLines(b, corpus);
      }
    });
  }
});
