/**
 * The capture analyser (`natt-sim analyze`) through its public entry point: a
 * CaptureAnalyzer fed the entries of a mutated capture the way analysis/source.ts
 * feedSource does (a reader DecodeError ends the capture as truncated), then
 * finish() for the report. With the key tables of ../shared/captures loaded, so the
 * IKE and ESP decryption paths run too. Nothing may escape.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError } from '../../src/core/errors.ts';
import { readCaptureSync } from '../../src/pcap/reader.ts';
import type { CaptureEntry } from '../../src/pcap/format.ts';
import { parseEspSaTable, parseIkev2DecryptionTable, type ParsedEspSaRow, type ParsedIkev2Row } from '../../src/crypto/keys-out.ts';
import { CaptureAnalyzer } from '../../src/analysis/analyzer.ts';
import { KeyRing } from '../../src/analysis/keys.ts';
import type { FuzzTarget } from '../harness.ts';
import { CAPTURES_DIR, captureText } from '../corpus.ts';
import { captureLayout } from '../locate.ts';
import { captureSeeds } from './capture.ts';
import { lazy } from './common.ts';

function files(dir: string, re: RegExp): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, re) : re.test(n) ? [p.slice(CAPTURES_DIR.length)] : [];
  });
}

/** Every key row of the captures that KeyRing accepts (a table it refuses is left out). */
const keys = lazy((): KeyRing => {
  const ike: ParsedIkev2Row[] = [];
  const esp: ParsedEspSaRow[] = [];
  for (const f of files(CAPTURES_DIR, /ikev2_decryption_table$/).sort()) {
    const rows = parseIkev2DecryptionTable(captureText(f));
    try {
      new KeyRing([...ike, ...rows], esp);
      ike.push(...rows);
    } catch {
      // rows that do not fit their algorithm: not usable for this target
    }
  }
  for (const f of files(CAPTURES_DIR, /esp_sa$/).sort()) {
    const rows = parseEspSaTable(captureText(f));
    try {
      new KeyRing(ike, [...esp, ...rows]);
      esp.push(...rows);
    } catch {
      // as above
    }
  }
  return new KeyRing(ike, esp);
});

export const analyzeTarget: FuzzTarget<null> = {
  name: 'analyze',
  description: 'CaptureAnalyzer (the analyze command) over mutated captures, with decryption keys',
  weight: 3,
  maxLen: 256 * 1024,
  randomShare: 0,
  seeds: captureSeeds,
  layout: captureLayout,
  setup: () => null,
  exec(_s, b) {
    const a = new CaptureAnalyzer({ keys: keys() });
    a.beginCapture('fuzz.pcap');
    let seen = false;
    const entries = readCaptureSync(b);
    for (;;) {
      // Only the reader's DecodeError ends the capture; anything from the analyser escapes.
      let r: IteratorResult<CaptureEntry>;
      try {
        r = entries.next();
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        a.endCapture(seen ? { offset: e.offset, reason: e.reason } : undefined);
        break;
      }
      if (r.done) {
        a.endCapture();
        break;
      }
      seen = true;
      a.entry(r.value);
    }
    a.finish();
  },
};
