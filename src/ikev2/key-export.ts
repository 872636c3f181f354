/**
 * Keys out, in the formats other tools read (through crypto/keys-out): per IKE SA a
 * Wireshark `ikev2_decryption_table` row and a charon-style key dump; per CHILD_SA
 * `esp_sa` rows for both directions and its key dump.
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
