/** The engine on real sockets: the live driver, its events and their rendering. */
export * from './clock.ts';
export * from './crypto-rng.ts';
export * from './driver.ts';
export * from './esp-suite.ts';
export * from './events.ts';
export * from './icmp.ts';
export * from './key-files.ts';
export * from './pcap-file.ts';
export * from './ping.ts';
export * from './render.ts';
