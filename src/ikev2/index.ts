/** The sans-I/O IKEv2 engine. */
export * from './config.ts';
export * from './events.ts';
export * from './natd.ts';
export * from './traffic-selectors.ts';
export { IkeEndpoint, type IkeEndpointOptions, type IkeSaInfo, type ChildSaInfo } from './endpoint.ts';
export type { Datagram } from './tasks/task.ts';
export type { Transmit } from './task-manager.ts';
export { IkeSaState, ChildState } from './session.ts';
