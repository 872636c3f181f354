/**
 * Child-process probe for test/crypto/dh.test.ts: one X25519 exchange through
 * src/crypto/dh.ts, then a normal exit. A hang here is what the test looks for.
 */
import { SeededRng, toHex } from '../../src/core/index.ts';
import { DhGroup, createDh } from '../../src/crypto/index.ts';

const seed = Number(process.argv[2] ?? '1');
const rng = new SeededRng(seed);
const a = createDh(DhGroup.CURVE_25519, rng);
const b = createDh(DhGroup.CURVE_25519, rng);
const s1 = toHex(a.computeShared(b.publicValue));
const s2 = toHex(b.computeShared(a.publicValue));
if (s1 !== s2) {
  process.stderr.write('shared secrets differ\n');
  process.exit(1);
}
process.stdout.write(`${toHex(a.publicValue)}\n`);
