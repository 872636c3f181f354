/**
 * Keys out, in the formats other tools read (through crypto/keys-out): per IKE SA a
 * Wireshark `ikev2_decryption_table` row and a charon-style key dump; per CHILD_SA
 * `esp_sa` rows for both directions and its key dump.
 *
 * The establishment events carry these strings as getters (ikeKeyExports,
 * childKeyExports): their inputs are taken when the event is made, the text is made on
 * the first read and kept, so an engine whose events nobody exports does no hex dumping.
 */
import {
  charonChildKeyLog,
  charonIkeKeyLog,
  espSaRow,
  espSaRowFor,
  ikev2DecryptionRow,
  ikev2RowFor,
} from '../crypto/keys-out.ts';
import type { ChildSa, IkeSa } from './session.ts';
import { formatTrafficSelector } from './traffic-selectors.ts';

export function ikeDecryptionRow(sa: IkeSa): string {
  return ikev2DecryptionRow(ikev2RowFor(sa.spiI, sa.spiR, sa.suite!, sa.keys!));
}

export function ikeKeyLog(sa: IkeSa): string {
  return charonIkeKeyLog({ conn: sa.config.name, unique: sa.id, spiI: sa.spiI, spiR: sa.spiR, suite: sa.suite!, keys: sa.keys! });
}

/** Rows for the outer (ESP packet) address family; addresses are "*" so they match inside and outside a NAT. */
export function childEspSaRows(sa: IkeSa, child: ChildSa): { in: string; out: string } {
  const family = sa.local.addr.family === 6 ? 'IPv6' : 'IPv4';
  return {
    in: espSaRow(espSaRowFor(child.spiIn, child.suite, child.keys.encIn, child.keys.integIn, { family })),
    out: espSaRow(espSaRowFor(child.spiOut, child.suite, child.keys.encOut, child.keys.integOut, { family })),
  };
}

export function childKeyLog(sa: IkeSa, child: ChildSa): string {
  return charonChildKeyLog({
    conn: sa.config.name,
    unique: sa.id,
    child: sa.config.name,
    childUnique: child.id,
    suite: child.suite,
    keys: child.rawKeys,
    spiIn: child.spiIn,
    spiOut: child.spiOut,
    tsLocal: child.localTs.map(formatTrafficSelector).join(' '),
    tsRemote: child.remoteTs.map(formatTrafficSelector).join(' '),
  });
}

/** The key-export fields of an sa-established event: inputs taken now, text on first read. */
export function ikeKeyExports(sa: IkeSa): { readonly ikev2DecryptionRow: () => string; readonly keyLog: () => string } {
  const row = ikev2RowFor(sa.spiI, sa.spiR, sa.suite!, sa.keys!);
  const entry = { conn: sa.config.name, unique: sa.id, spiI: sa.spiI, spiR: sa.spiR, suite: sa.suite!, keys: sa.keys! };
  let rowText: string | undefined;
  let logText: string | undefined;
  return { ikev2DecryptionRow: () => (rowText ??= ikev2DecryptionRow(row)), keyLog: () => (logText ??= charonIkeKeyLog(entry)) };
}

/** The key-export fields of a child-established event: inputs taken now, text on first read. */
export function childKeyExports(sa: IkeSa, child: ChildSa): { readonly espSaRows: () => { in: string; out: string }; readonly keyLog: () => string } {
  const family = sa.local.addr.family === 6 ? 'IPv6' : 'IPv4';
  const rowIn = espSaRowFor(child.spiIn, child.suite, child.keys.encIn, child.keys.integIn, { family });
  const rowOut = espSaRowFor(child.spiOut, child.suite, child.keys.encOut, child.keys.integOut, { family });
  const entry = {
    conn: sa.config.name,
    unique: sa.id,
    child: sa.config.name,
    childUnique: child.id,
    suite: child.suite,
    keys: child.rawKeys,
    spiIn: child.spiIn,
    spiOut: child.spiOut,
    localTs: child.localTs,
    remoteTs: child.remoteTs,
  };
  let rows: { in: string; out: string } | undefined;
  let logText: string | undefined;
  return {
    espSaRows: () => (rows ??= { in: espSaRow(rowIn), out: espSaRow(rowOut) }),
    keyLog: () =>
      (logText ??= charonChildKeyLog({
        ...entry,
        tsLocal: entry.localTs.map(formatTrafficSelector).join(' '),
        tsRemote: entry.remoteTs.map(formatTrafficSelector).join(' '),
      })),
  };
}
