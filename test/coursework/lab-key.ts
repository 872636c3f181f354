/**
 * Reads a lab's answer key from its Markdown (docs/labs/NN-*.md), so a lab test can
 * check that every answer the key gives is what the lab's scenario really produces.
 *
 * The key is the section headed `## Answer key`. Each answer starts a list item with
 * `**A<n>.**` and runs to the next answer or the end of the section:
 *
 *     ## Answer key
 *
 *     - **A1.** The NAT-D source hash is `1f3a…`; it does not match ...
 *     - **A2.** The first keepalive leaves at `20.01 s` ...
 *
 * A test then asserts, for each answer, that the value it computes from the run appears
 * in the answer's text (`expect(key.get('A1')).toContain(hash)`), and that the key has
 * exactly the answers the test checks (`checkedAll`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const LABS_DIR = resolve(import.meta.dirname, '../../docs/labs');

export interface LabDoc {
  readonly file: string;
  readonly text: string;
  /** The questions, `Q<n>` → text, from the `## Questions` section (same list syntax, `**Q<n>.**`). */
  readonly questions: ReadonlyMap<string, string>;
  /** The answers, `A<n>` → text. */
  readonly answers: ReadonlyMap<string, string>;
  /** The answer's text; throws when the key has no such answer. */
  answer(id: string): string;
}

export function readLab(fileName: string): LabDoc {
  const file = resolve(LABS_DIR, fileName);
  const text = readFileSync(file, 'utf8');
  const questions = items(section(text, 'Questions', file), 'Q', file);
  const answers = items(section(text, 'Answer key', file), 'A', file);
  return {
    file,
    text,
    questions,
    answers,
    answer(id: string): string {
      const a = answers.get(id);
      if (a === undefined) throw new Error(`${file}: the answer key has no ${id}`);
      return a;
    },
  };
}

/** The ids of a lab's answers that `checked` does not name, and the ones it names that the key lacks. */
export function uncheckedAnswers(lab: LabDoc, checked: readonly string[]): { unchecked: string[]; missing: string[] } {
  const want = new Set(checked);
  return {
    unchecked: [...lab.answers.keys()].filter((k) => !want.has(k)),
    missing: checked.filter((k) => !lab.answers.has(k)),
  };
}

function section(text: string, heading: string, file: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`${file}: no "## ${heading}" section`);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^##? /.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join('\n');
}

function items(body: string, letter: 'Q' | 'A', file: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`^\\s*(?:[-*]|\\d+\\.)\\s+\\*\\*(${letter}\\d+)\\.\\*\\*`, 'gm');
  const starts: { id: string; at: number }[] = [];
  for (let m = re.exec(body); m !== null; m = re.exec(body)) starts.push({ id: m[1]!, at: m.index });
  starts.forEach((s, i) => {
    if (out.has(s.id)) throw new Error(`${file}: ${s.id} appears twice`);
    out.set(s.id, body.slice(s.at, starts[i + 1]?.at ?? body.length).trim());
  });
  if (out.size === 0) throw new Error(`${file}: no **${letter}1.** items`);
  return out;
}
