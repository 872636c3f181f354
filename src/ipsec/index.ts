/** The userspace ESP datapath: SAD, ESP processor, anti-replay window, keepalive policy, counters. */
export * from './replay-window.ts';
export * from './sad.ts';
export * from './esp-processor.ts';
export * from './keepalive.ts';
export * from './counters.ts';
export * from './show.ts';
