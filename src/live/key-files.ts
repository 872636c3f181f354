/**
 * `--keys DIR`: the files Wireshark/tshark read from a configuration folder
 * (WIRESHARK_CONFIG_DIR=DIR), rewritten whole on every new IKE or CHILD SA:
 *  - `ikev2_decryption_table`: one row per IKE SA ever established in this run;
 *  - `esp_sa`: two rows (in, out) per CHILD_SA ever installed;
 *  - `preferences`: ESP decryption and ICV checking switched on;
 *  - `charon-keys.log`: the same keys as a charon level-4 dump, appended.
 * Rows of SAs that were deleted or replaced stay, so a capture of the whole run
 * decrypts end to end.
 */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WIRESHARK_PREFERENCES = ['esp.enable_encryption_decode: TRUE', 'esp.enable_authentication_check: TRUE', ''].join('\n');

export class KeyFiles {
  private readonly ike: string[] = [];
  private readonly esp: string[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.write('preferences', WIRESHARK_PREFERENCES);
    this.write('ikev2_decryption_table', '');
    this.write('esp_sa', '');
  }

  /** Adds rows not seen before; rewrites the tables when anything is new. Returns whether it did. */
  update(rows: { readonly ikev2DecryptionTable: readonly string[]; readonly espSa: readonly string[] }): boolean {
    let changed = false;
    for (const r of rows.ikev2DecryptionTable) if (!this.ike.includes(r)) (this.ike.push(r), (changed = true));
    for (const r of rows.espSa) if (!this.esp.includes(r)) (this.esp.push(r), (changed = true));
    if (!changed) return false;
    this.write('ikev2_decryption_table', this.ike.map((l) => `${l}\n`).join(''));
    this.write('esp_sa', this.esp.map((l) => `${l}\n`).join(''));
    return true;
  }

  appendKeyLog(text: string): void {
    if (text) appendFileSync(join(this.dir, 'charon-keys.log'), text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Written to a temporary name and renamed, so a reader never sees half a table. */
  private write(name: string, text: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, name));
  }
}
