/**
 * Every fuzz target, in the order runs go through them.
 *
 * ANALYSIS_TARGETS is where targets over the capture analyser's public entry point
 * belong; it holds `analyze` (CaptureAnalyzer, as `natt-sim analyze` drives it).
 */
import type { FuzzTarget } from '../harness.ts';
import { DECODER_TARGETS } from './decoders.ts';
import { CAPTURE_TARGETS } from './capture.ts';
import { ENGINE_TARGETS } from './engine.ts';
import { ESP_TARGETS } from './esp.ts';
import { skTarget } from './sk.ts';
import { analyzeTarget } from './analyze.ts';

export const ANALYSIS_TARGETS: readonly FuzzTarget<unknown>[] = [analyzeTarget];

export const TARGETS: readonly FuzzTarget<unknown>[] = [...DECODER_TARGETS, skTarget, ...CAPTURE_TARGETS, ...ANALYSIS_TARGETS, ...ESP_TARGETS, ...ENGINE_TARGETS];

export function targetByName(name: string): FuzzTarget<unknown> | undefined {
  return TARGETS.find((t) => t.name === name);
}
