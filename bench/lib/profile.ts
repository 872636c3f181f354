/**
 * Self time per function from a V8 .cpuprofile (what `node --cpu-prof` writes): the
 * samples' time deltas summed by the function each sample landed in.
 */
import { readFileSync } from 'node:fs';

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  /** "function (dir/file)". */
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** The `top` functions by self time; idle, program and GC are kept (they are part of the picture). */
export function topSelfTime(path: string, top = 15): { totalMs: number; rows: SelfTime[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    total += d;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    const file = n.callFrame.url.split('/').slice(-2).join('/');
    const name = `${n.callFrame.functionName || '(anonymous)'}${file ? ` (${file})` : ''}`;
    self.set(name, (self.get(name) ?? 0) + d);
  }
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, rows };
}
