/**
 * Target for the IKEv2 Encrypted payload (crypto/sk.ts): openSkMessage and decryptSk
 * never throw on bad input (a failure is a result); what opens is read with
 * decodePayloadChain (DecodeError allowed). Keys: every Wireshark
 * ikev2_decryption_table under ../shared/captures whose algorithms are implemented,
 * and the engine's own SA of the recorded runs; a message is opened with the row of
 * its SPIs, or with some row when none matches.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSk, openSkMessage } from '../../src/crypto/sk.ts';
import { parseIkev2DecryptionTable } from '../../src/crypto/keys-out.ts';
import { suiteProblem, integKeyLength, encrKeyLength, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { decodePayloadChain } from '../../src/wire/ike/message.ts';
import type { FuzzTarget } from '../harness.ts';
import { CAPTURES_DIR, captureText, loadCorpus } from '../corpus.ts';
import { IKE_SUITE, senderKeys } from '../engine.ts';
import { ikeMessageLayout } from '../locate.ts';
import { engineSeeds, sealedEstablished } from '../seeds.ts';
import { allowDecodeError, lazy } from './common.ts';
import { hex, rd16 } from '../util.ts';

interface KeyRow {
  readonly spis: string;
  readonly suite: CipherSuite;
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skAi?: Uint8Array;
  readonly skAr?: Uint8Array;
}

function tables(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tables(p) : /ikev2_decryption_table$/.test(n) ? [p.slice(CAPTURES_DIR.length)] : [];
  });
}

const keyRows = lazy((): KeyRow[] => {
  const rows: KeyRow[] = [];
  for (const file of tables(CAPTURES_DIR).sort()) {
    for (const r of parseIkev2DecryptionTable(captureText(file))) {
      if (!r.encr || r.integ === undefined) continue;
      const suite: CipherSuite = { encr: r.encr.encr, keyBits: r.encr.keyBits, integ: r.integ };
      if (suiteProblem(suite) || r.skEi.length !== encrKeyLength(suite) || r.skAi.length !== integKeyLength(suite)) continue;
      const a = integKeyLength(suite) > 0;
      rows.push({ spis: hex(r.spiI) + hex(r.spiR), suite, skEi: r.skEi, skEr: r.skEr, ...(a ? { skAi: r.skAi, skAr: r.skAr } : {}) });
    }
  }
  // The engine's own SA (the sealed pair): keys as each side holds them.
  const net = sealedEstablished();
  const sa = net.ini.getSa(net.ini.saIds()[0]!);
  const ki = sa ? senderKeys(net.ini, sa.spiI, true) : undefined;
  const kr = sa ? senderKeys(net.ini, sa.spiI, false) : undefined;
  if (sa && ki && kr) rows.push({ spis: hex(sa.spiI) + hex(sa.spiR), suite: IKE_SUITE, skEi: ki.keyE, skEr: kr.keyE });
  return rows;
});

/** Offset of the SK or SKF payload (walking generic headers), or 28. */
function skOffset(b: Uint8Array): { at: number; skf: boolean } {
  let next = b[16]!;
  let p = 28;
  for (let n = 0; n < 256 && next !== 0 && p + 4 <= b.length; n++) {
    if (next === 46 || next === 53) return { at: p, skf: next === 53 };
    const len = rd16(b, p + 2);
    if (len < 4) break;
    next = b[p]!;
    p += len;
  }
  return { at: 28, skf: false };
}

export const skTarget: FuzzTarget<null> = {
  name: 'sk-decrypt',
  description: 'openSkMessage / decryptSk over IKEv2 messages with an Encrypted payload, with real keys',
  weight: 3,
  maxLen: 16384,
  randomShare: 0.02,
  seeds: lazy(() => {
    const withSk = (b: Uint8Array): boolean => b.length > 32 && skOffset(b).at + 4 <= b.length && (b[16] === 46 || b[16] === 53 || skOffset(b).at > 28);
    return [...loadCorpus().ikev2.filter(withSk), ...engineSeeds().ikeMessages.filter(withSk)];
  }),
  layout: ikeMessageLayout,
  setup: () => null,
  exec(_s, b) {
    if (b.length < 28) return;
    const rows = keyRows();
    if (rows.length === 0) return;
    const spis = hex(b.subarray(0, 16));
    const row = rows.find((r) => r.spis === spis) ?? rows[b.length % rows.length]!;
    const fromInitiator = (b[19]! & 0x08) !== 0;
    const keyE = fromInitiator ? row.skEi : row.skEr;
    const keyA = fromInitiator ? row.skAi : row.skAr;
    const { at, skf } = skOffset(b);
    const r = openSkMessage({ suite: row.suite, keyE, ...(keyA ? { keyA } : {}), message: b, skOffset: at, skHeaderLength: skf ? 8 : 4 });
    if (r.ok && r.firstInnerPayload !== undefined) allowDecodeError(() => decodePayloadChain(r.firstInnerPayload!, r.plaintext, at + 4));
    const split = Math.min(b.length, at + (skf ? 8 : 4));
    decryptSk({ suite: row.suite, keyE, ...(keyA ? { keyA } : {}), headerAndSkHeader: b.subarray(0, split), body: b.subarray(split) });
  },
};
