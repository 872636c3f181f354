/** IKEv2 and ESP cryptography over node:crypto. */
export * from './algorithms.ts';
export * from './cipher.ts';
export * from './dh.ts';
export * from './prf.ts';
export * from './integ.ts';
export * from './sk.ts';
export * from './esp-transforms.ts';
export * from './proposals.ts';
export * from './keys-out.ts';
