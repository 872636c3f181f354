export * from './format.ts';
export * from './reader.ts';
export * from './writer.ts';
