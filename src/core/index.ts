export * from './errors.ts';
export * from './bytes.ts';
export * from './time.ts';
export * from './rng.ts';
export * from './addr.ts';
