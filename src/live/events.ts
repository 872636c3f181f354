/**
 * What a live run reports: every engine event as it comes out of pollEvent(), plus
 * the events of the live layer itself (sockets, the ESP datapath, pings, shutdown).
 * Both share one union discriminated on `type`; `at` is µs on the run's monotonic
 * clock (0 = start).
 */
import type { Endpoint, IpAddress, Micros } from '../core/index.ts';
import type { ChildId, IkeEvent, SaId } from '../ikev2/index.ts';
import type { SaCounters } from '../ipsec/index.ts';

export type LiveRole = 'initiator' | 'responder';

interface At {
  readonly at: Micros;
}

export type LiveOwnEvent = At &
  (
    | { readonly type: 'listening'; readonly role: LiveRole; readonly ike: Endpoint; readonly natt: Endpoint }
    | {
        readonly type: 'child-installed';
        readonly saId: SaId;
        readonly childId: ChildId;
        readonly name: string;
        readonly spiIn: number;
        readonly spiOut: number;
        readonly suite: string;
        readonly encap: { readonly local: Endpoint; readonly remote: Endpoint };
        readonly localTs: readonly string[];
        readonly remoteTs: readonly string[];
        /** The CHILD_SA this one replaced. */
        readonly rekeyOf?: ChildId;
      }
    | {
        /** A CHILD_SA without UDP encapsulation: live mode cannot send raw ESP. */
        readonly type: 'child-refused';
        readonly saId: SaId;
        readonly childId: ChildId;
        readonly message: string;
      }
    | { readonly type: 'keepalive-received'; readonly src: Endpoint }
    | { readonly type: 'esp-dropped'; readonly src: Endpoint; readonly reason: string; readonly message: string; readonly spi?: number }
    | { readonly type: 'esp-send-failed'; readonly reason: string; readonly message: string }
    | { readonly type: 'inner-ignored'; readonly src: string; readonly dst: string; readonly message: string }
    | { readonly type: 'echo-answered'; readonly from: string; readonly to: string; readonly seq: number; readonly bytes: number }
    | {
        readonly type: 'ping-start';
        readonly src: IpAddress;
        readonly dst: IpAddress;
        readonly count: number;
        readonly dataBytes: number;
        readonly child: string;
      }
    | { readonly type: 'ping-error'; readonly seq: number; readonly message: string }
    | {
        readonly type: 'ping-reply';
        readonly from: IpAddress;
        readonly seq: number;
        readonly bytes: number;
        /** Round-trip time in µs. */
        readonly rttUs: Micros;
        readonly duplicate: boolean;
      }
    | {
        readonly type: 'ping-summary';
        readonly dst: IpAddress;
        readonly transmitted: number;
        readonly received: number;
        readonly elapsedUs: Micros;
        readonly rttUs: { readonly min: Micros; readonly avg: Micros; readonly max: Micros; readonly mdev: Micros } | undefined;
      }
    | { readonly type: 'socket-error'; readonly socket: 'ike' | 'natt'; readonly message: string }
    | { readonly type: 'send-error'; readonly dst: Endpoint; readonly message: string }
    | { readonly type: 'shutdown'; readonly reason: string; readonly sas: number }
    | {
        readonly type: 'counters';
        readonly child: string;
        readonly childId: ChildId;
        readonly spiIn: number;
        readonly spiOut: number;
        readonly counters: SaCounters;
        /** `show crypto ipsec sa`. */
        readonly text: string;
      }
    | {
        readonly type: 'result';
        readonly exitCode: 0 | 1;
        readonly established: boolean;
        readonly childInstalled: boolean;
        readonly message: string;
        readonly keepalivesReceived: number;
      }
  );

export type LiveEvent = IkeEvent | LiveOwnEvent;
export type LiveEventType = LiveEvent['type'];
