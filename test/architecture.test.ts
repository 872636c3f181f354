/**
 * Guards the layering in docs/architecture.md: which layer may import which, and that
 * only cli/ and live/ touch the clock, timers, randomness, files or the process.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const SRC = resolve(import.meta.dirname, '../src');

const ALLOWED: Record<string, string[]> = {
  core: [],
  wire: ['core'],
  crypto: ['core'],
  ikev2: ['core', 'wire', 'crypto'],
  ipsec: ['core', 'wire', 'crypto'],
  pcap: ['core', 'wire'],
  analysis: ['core', 'wire', 'crypto', 'ikev2', 'ipsec', 'pcap'],
  sim: ['core', 'wire', 'crypto', 'ikev2', 'ipsec', 'pcap', 'analysis'],
  live: ['core', 'wire', 'crypto', 'ikev2', 'ipsec', 'pcap', 'analysis', 'sim'],
  cli: ['core', 'wire', 'crypto', 'ikev2', 'ipsec', 'pcap', 'analysis', 'sim', 'live'],
  types: [],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = walk(SRC);

describe('layering', () => {
  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('every import respects the dependency rule', () => {
    const violations: string[] = [];
    for (const f of files) {
      const layer = relative(SRC, f).split('/')[0]!;
      const allowed = ALLOWED[layer];
      if (!allowed) {
        violations.push(`${relative(SRC, f)}: unknown layer "${layer}"`);
        continue;
      }
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
        const target = relative(SRC, resolve(dirname(f), m[1]!)).split('/')[0]!;
        if (target !== layer && !allowed.includes(target)) violations.push(`${relative(SRC, f)} imports ${m[1]} (${layer} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only cli/ and live/ read the clock, set timers, use Math.random, files or process', () => {
    const banned = /Date\.now\(|new Date\(|setTimeout\(|setInterval\(|setImmediate\(|Math\.random\(|performance\.now\(|from ['"]node:(fs|fs\/promises|dgram|net|child_process)['"]|\bprocess\.(argv|env|exit|stdout|stderr|hrtime)/;
    const offenders = files
      .filter((f) => !/^(cli|live)\//.test(relative(SRC, f)))
      .filter((f) => banned.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
