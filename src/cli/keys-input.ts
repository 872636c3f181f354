/**
 * `--keys DIR|FILE`: Wireshark 4.0 UAT files. A directory may hold
 * `ikev2_decryption_table` and/or `esp_sa` (as a Wireshark profile does); a single
 * file is recognised by its name (…ikev2_decryption_table, …esp_sa) or, failing
 * that, by its first row (esp_sa rows start with "IPv4" or "IPv6"). A malformed
 * file is one line naming the file, line and field.
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from './errors.ts';
import { readTextInput } from './capture-input.ts';
import { KeyMaterialError, KeyRing } from '../analysis/keys.ts';
import { UatParseError, parseEspSaTable, parseIkev2DecryptionTable, type ParsedEspSaRow, type ParsedIkev2Row } from '../crypto/keys-out.ts';

type Table = 'ikev2' | 'esp';

function readText(file: string): string {
  return readTextInput(file, 'a key table (--keys)');
}

function tableOf(file: string, text: string): Table {
  const name = basename(file);
  if (/ikev2_decryption_table$/.test(name)) return 'ikev2';
  if (/esp_sa$/.test(name)) return 'esp';
  const first = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (first === undefined) throw new CliError(`${file}: no key rows (expected Wireshark's ikev2_decryption_table or esp_sa format)`);
  return /^"IPv[46]"/.test(first) ? 'esp' : 'ikev2';
}

function parse(file: string, table: Table, text: string): ParsedIkev2Row[] | ParsedEspSaRow[] {
  try {
    return table === 'ikev2' ? parseIkev2DecryptionTable(text) : parseEspSaTable(text);
  } catch (e) {
    if (e instanceof UatParseError) throw new CliError(`${file}:${e.line}: field ${e.field}: ${e.reason}`);
    throw e;
  }
}

/** Loads the key rows under a directory or in one file; throws CliError (exit 2) on any problem. */
export function loadKeys(path: string): KeyRing {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`${path}: no such file or directory (--keys)`);
  }
  const files: Array<{ file: string; table: Table; text: string }> = [];
  if (st.isDirectory()) {
    for (const [name, table] of [
      ['ikev2_decryption_table', 'ikev2'],
      ['esp_sa', 'esp'],
    ] as const) {
      const file = join(path, name);
      try {
        if (!statSync(file).isFile()) continue;
      } catch {
        continue;
      }
      files.push({ file, table, text: readText(file) });
    }
    if (files.length === 0) throw new CliError(`${path}: holds neither ikev2_decryption_table nor esp_sa (--keys)`);
  } else {
    const text = readText(path);
    files.push({ file: path, table: tableOf(path, text), text });
  }
  const ike: ParsedIkev2Row[] = [];
  const esp: ParsedEspSaRow[] = [];
  const sourceOf: Record<Table, string> = { ikev2: '', esp: '' };
  for (const f of files) {
    const rows = parse(f.file, f.table, f.text);
    if (rows.length === 0 && !st.isDirectory()) throw new CliError(`${f.file}: no key rows (expected Wireshark's ikev2_decryption_table or esp_sa format)`);
    sourceOf[f.table] = f.file;
    if (f.table === 'ikev2') ike.push(...(rows as ParsedIkev2Row[]));
    else esp.push(...(rows as ParsedEspSaRow[]));
  }
  try {
    return new KeyRing(ike, esp);
  } catch (e) {
    if (!(e instanceof KeyMaterialError)) throw e;
    // Which table: the field names differ between the two formats.
    const table: Table = /^SK_/.test(e.field) || e.field === 'encryption' || e.field === 'integrity' ? 'ikev2' : 'esp';
    throw new CliError(`${sourceOf[table] || path}:${e.line}: field ${e.field}: ${e.reason}`);
  }
}
