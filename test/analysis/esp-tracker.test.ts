/** ESP sequence accounting: gaps, replays, the 1024-packet window, reordering. */
import { describe, expect, it } from 'vitest';
import { EspState, REPLAY_WINDOW } from '../../src/analysis/esp-tracker.ts';
import { ipv4 } from '../../src/core/addr.ts';

function run(seqs: Array<number | undefined>): EspState {
  const s = new EspState(0, 1, 'none', ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 'a', 0, 1);
  seqs.forEach((q, i) => s.add(q, 100, i, i + 1, 'a'));
  return s;
}

describe('EspState', () => {
  it('in order: no gaps, no replays', () => {
    const s = run([1, 2, 3, 4]);
    expect([s.packets, s.firstSeq, s.lastSeq, s.maxSeq, s.gaps, s.replays]).toEqual([4, 1, 4, 4, 0, 0]);
  });
  it('a hole and a duplicate', () => {
    const s = run([1, 2, 2, 6]);
    expect([s.gaps, s.replays, s.replayFrames, s.gapFrames]).toEqual([3, 1, [3], [4]]);
  });
  it('a late packet fills its hole (reordering is not a replay)', () => {
    const s = run([1, 3, 2]);
    expect([s.gaps, s.replays, s.lastSeq, s.maxSeq]).toEqual([0, 0, 2, 3]);
  });
  it('beyond the window: neither new nor a replay; a jump clears old bits', () => {
    const s = run([1, REPLAY_WINDOW + 10, 1, REPLAY_WINDOW + 9]);
    expect([s.outOfWindow, s.replays]).toEqual([1, 0]);
    expect(s.gaps).toBe(REPLAY_WINDOW + 10 - 1 + 1 - 3);
  });
  it('packets cut before their sequence number are counted but not sequenced', () => {
    const s = run([undefined, 5, 6]);
    expect([s.packets, s.unsequenced, s.firstSeq, s.gaps]).toEqual([3, 1, 5, 0]);
  });
});
