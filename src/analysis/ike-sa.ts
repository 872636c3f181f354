/**
 * One IKE SA (IKEv2 by SPIs, IKEv1 by cookies) followed across ports 500/4500, NAT
 * mappings and several captures of the same traffic. Everything here is bounded:
 * a few endpoints per side, a ring of recent message digests per capture for
 * retransmission detection, a capped list of NAT-D hashes, pending requests and
 * decrypted-message summaries.
 */
import { createHash } from 'node:crypto';
import { endpointKey, formatIp, type Endpoint } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import type { NatdObservation } from './natd.ts';
import type { NatdAlgorithmName } from './report.ts';
import type { ChildSaReport, DecryptedMessageReport, MessageRef, RequestReport, Role } from './report.ts';

export const MAX_ENDPOINTS_PER_LEG = 8;
export const MAX_NATD_HASHES = 32;
export const MAX_PENDING = 32;
export const MAX_DECRYPTED_MESSAGES = 64;
export const MAX_CHILD_SAS = 64;
const RECENT_DIGESTS = 16;
const MAX_REQUEST_REPORTS = 16;

export const other = (r: Role): Role => (r === 'initiator' ? 'responder' : 'initiator');

export type MarkerState = 'ok' | 'missing' | 'on500' | 'none';

/** What the tracker needs from one IKE message, whatever its version. */
export interface IkeMessageView {
  readonly capture: number;
  readonly frame: number;
  readonly at: Micros;
  readonly exchange: string;
  readonly messageId: number;
  /** IKEv2: the R flag. IKEv1: false (ISAKMP has no request/response flag). */
  readonly response: boolean;
  readonly sender: Role;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** Neither port is 500 (the NAT-T port pair). */
  readonly onNatt: boolean;
  readonly marker: MarkerState;
  readonly bytes: Uint8Array;
  readonly ipFragmented: boolean;
}

export interface LegMaps {
  readonly on500: Map<string, Endpoint>;
  readonly on4500: Map<string, Endpoint>;
}

interface CaptureTally {
  readonly exchanges: Map<string, number>;
  messages: number;
  retransmissions: number;
  readonly recent: string[];
}

interface RequestState {
  message: string;
  messageId: number;
  sender: Role;
  capture: number;
  frames: number[];
  retransmissions: number;
  ipFragmented: boolean;
  answered: boolean;
}

export interface SkfAssembly {
  readonly total: number;
  readonly frames: number[];
  readonly parts: Map<number, Uint8Array | null>;
  firstInner: number;
  integrity: 'ok' | 'failed';
  exchange: string;
  messageId: number;
  response: boolean;
  sender: Role;
  capture: number;
  done: boolean;
}

export interface PendingChild {
  initiatorSpi: string | null;
  responderSpi: string | null;
  protocol: 'ESP' | 'AH';
  proposal: string | null;
  tsi: string[];
  tsr: string[];
  exchange: string;
  messageId: number;
  capture: number;
  frame: number;
}

export class IkeSaState {
  spiR: Uint8Array;
  readonly firstCapture: number;
  readonly firstFrame: number;
  readonly firstAt: Micros;
  lastAt: Micros;
  initiatorFirst: Endpoint | undefined;
  responderFirst: Endpoint | undefined;
  readonly endpoints: Record<Role, Map<number, LegMaps>> = { initiator: new Map(), responder: new Map() };
  readonly captures = new Set<number>();
  private readonly tallies = new Map<number, CaptureTally>();
  private readonly pending = new Map<string, RequestState>();
  readonly doneRequests: RequestReport[] = [];
  readonly natd: NatdObservation[] = [];
  natdOmitted = 0;
  hashAlgorithm: NatdAlgorithmName | null = null;
  startedOn4500: boolean | undefined;
  floated = false;
  firstOn4500: MessageRef | undefined;
  readonly marker = { ok: 0, missing: 0, on500: 0 };
  readonly markerFrames = { missing: [] as number[], on500: [] as number[], capture: -1 };
  ipFragmented = 0;
  readonly ipFragmentedFrames: number[] = [];
  readonly fragSupport = new Set<Role>();
  readonly skf = new Map<string, SkfAssembly>();
  skfMessages = 0;
  skfFragments = 0;
  skfReassembled = 0;
  skfIncomplete = 0;
  decrypted = 0;
  integrityFailed = 0;
  decryptFailed = 0;
  noKey = 0;
  readonly decryptFrames: number[] = [];
  readonly integrityFrames: number[] = [];
  readonly ids: Record<Role, string | null> = { initiator: null, responder: null };
  readonly childSas: ChildSaReport[] = [];
  readonly pendingChildren = new Map<string, PendingChild>();
  readonly decryptedMessages: DecryptedMessageReport[] = [];
  decryptedOmitted = 0;
  malformed = 0;
  readonly malformedFrames: number[] = [];
  /** Captures in which the NAT-D exchange is over (IKE_SA_INIT response / IKEv1 NAT-D from the responder seen). */
  readonly natdDoneIn = new Set<number>();
  /** Messages after NAT-D on port 500 (a float was due) and on the NAT-T pair. */
  afterNatdOn500 = 0;
  readonly afterNatdOn500Frames: number[] = [];

  constructor(
    readonly index: number,
    readonly version: 1 | 2,
    readonly spiI: Uint8Array,
    spiR: Uint8Array,
    v: Pick<IkeMessageView, 'capture' | 'frame' | 'at'>,
  ) {
    this.spiR = new Uint8Array(spiR);
    this.firstCapture = v.capture;
    this.firstFrame = v.frame;
    this.firstAt = v.at;
    this.lastAt = v.at;
  }

  private legs(role: Role, capture: number): LegMaps {
    let l = this.endpoints[role].get(capture);
    if (!l) {
      l = { on500: new Map(), on4500: new Map() };
      this.endpoints[role].set(capture, l);
    }
    return l;
  }

  private noteEndpoint(role: Role, capture: number, onNatt: boolean, ep: Endpoint): void {
    const l = this.legs(role, capture);
    const m = onNatt ? l.on4500 : l.on500;
    const k = endpointKey(ep);
    if (!m.has(k) && m.size < MAX_ENDPOINTS_PER_LEG) m.set(k, ep);
  }

  /** Whether this endpoint was used by `role` in that capture (any leg). */
  hasEndpoint(role: Role, capture: number, ep: Endpoint): boolean {
    const l = this.endpoints[role].get(capture);
    if (!l) return false;
    const k = endpointKey(ep);
    return l.on500.has(k) || l.on4500.has(k);
  }

  /** Whether `role` used this address (any port) in that capture. */
  hasAddress(role: Role, capture: number, addrText: string): boolean {
    const l = this.endpoints[role].get(capture);
    if (!l) return false;
    for (const ep of [...l.on500.values(), ...l.on4500.values()]) if (formatIp(ep.addr) === addrText) return true;
    return false;
  }

  /** Counted message count: the largest over the captures (each capture of the same traffic sees it once). */
  get messages(): number {
    let n = 0;
    for (const t of this.tallies.values()) n = Math.max(n, t.messages);
    return n;
  }

  get retransmissions(): number {
    let n = 0;
    for (const t of this.tallies.values()) n = Math.max(n, t.retransmissions);
    return n;
  }

  exchanges(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tallies.values()) for (const [k, v] of t.exchanges) out[k] = Math.max(out[k] ?? 0, v);
    return out;
  }

  /** Records a message; returns true when it is an identical retransmission (same capture, direction, ID, bytes). */
  onMessage(v: IkeMessageView): boolean {
    this.lastAt = v.at;
    this.captures.add(v.capture);
    const receiver = other(v.sender);
    this.initiatorFirst ??= v.sender === 'initiator' ? v.src : v.dst;
    this.responderFirst ??= v.sender === 'responder' ? v.src : v.dst;
    this.noteEndpoint(v.sender, v.capture, v.onNatt, v.src);
    this.noteEndpoint(receiver, v.capture, v.onNatt, v.dst);

    let t = this.tallies.get(v.capture);
    if (!t) {
      t = { exchanges: new Map(), messages: 0, retransmissions: 0, recent: [] };
      this.tallies.set(v.capture, t);
    }
    const digest = `${v.sender}|${v.response ? 'R' : 'Q'}|${v.messageId}|${createHash('sha1').update(v.bytes).digest('hex')}`;
    const requester = v.response ? receiver : v.sender;
    const reqKey = `${v.capture}|${requester}|${v.messageId}|${v.exchange}`;
    if (t.recent.includes(digest)) {
      t.retransmissions++;
      if (!v.response) {
        const p = this.pending.get(reqKey);
        if (p) {
          p.retransmissions++;
          if (p.frames.length < 16) p.frames.push(v.frame);
          p.ipFragmented ||= v.ipFragmented;
        }
      }
      return true;
    }
    t.recent.push(digest);
    if (t.recent.length > RECENT_DIGESTS) t.recent.shift();
    t.messages++;
    const label = this.label(v);
    t.exchanges.set(label, (t.exchanges.get(label) ?? 0) + 1);

    if (this.startedOn4500 === undefined) this.startedOn4500 = v.onNatt;
    if (v.onNatt) {
      if (!this.startedOn4500) this.floated = true;
      this.firstOn4500 ??= { exchange: v.exchange, messageId: v.messageId, response: v.response, sender: v.sender, capture: v.capture, frame: v.frame };
    } else if (this.natdDoneIn.has(v.capture) && v.exchange !== 'IKE_SA_INIT') {
      this.afterNatdOn500++;
      if (this.afterNatdOn500Frames.length < 8) this.afterNatdOn500Frames.push(v.frame);
    }
    if (v.marker === 'ok') this.marker.ok++;
    if (v.marker === 'missing' || v.marker === 'on500') {
      this.marker[v.marker]++;
      if (this.markerFrames.capture < 0) this.markerFrames.capture = v.capture;
      if (this.markerFrames.capture === v.capture && this.markerFrames[v.marker].length < 16) this.markerFrames[v.marker].push(v.frame);
    }
    if (v.ipFragmented) {
      this.ipFragmented++;
      if (this.ipFragmentedFrames.length < 16) this.ipFragmentedFrames.push(v.frame);
    }

    if (this.version === 2) {
      if (v.response) {
        const p = this.pending.get(reqKey);
        if (p) {
          p.answered = true;
          this.pending.delete(reqKey);
          if (p.retransmissions > 0) this.keepRequest(p);
        }
      } else {
        if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
        this.pending.set(reqKey, {
          message: label,
          messageId: v.messageId,
          sender: v.sender,
          capture: v.capture,
          frames: [v.frame],
          retransmissions: 0,
          ipFragmented: v.ipFragmented,
          answered: false,
        });
      }
    }
    return false;
  }

  private keepRequest(p: RequestState): void {
    if (this.doneRequests.length < MAX_REQUEST_REPORTS) this.doneRequests.push(toRequestReport(p));
  }

  label(v: Pick<IkeMessageView, 'exchange' | 'response' | 'sender'>): string {
    return this.version === 2 ? `${v.exchange} ${v.response ? 'response' : 'request'}` : `${v.exchange} from ${v.sender}`;
  }

  addNatd(o: NatdObservation): void {
    if (this.natd.length < MAX_NATD_HASHES) this.natd.push(o);
    else this.natdOmitted++;
  }

  /** Requests still waiting for an answer at the end. */
  unanswered(): RequestReport[] {
    return [...this.pending.values()].slice(0, MAX_REQUEST_REPORTS).map(toRequestReport);
  }

  /** Requests that were retransmitted (answered or not). */
  retransmitted(): RequestReport[] {
    const out = [...this.doneRequests];
    for (const p of this.pending.values()) if (p.retransmissions > 0 && out.length < MAX_REQUEST_REPORTS) out.push(toRequestReport(p));
    return out;
  }

  addDecrypted(m: DecryptedMessageReport): void {
    if (this.decryptedMessages.length < MAX_DECRYPTED_MESSAGES) this.decryptedMessages.push(m);
    else this.decryptedOmitted++;
  }

  addChild(c: ChildSaReport): void {
    if (this.childSas.length < MAX_CHILD_SAS) this.childSas.push(c);
  }
}

function toRequestReport(p: RequestState): RequestReport {
  return {
    message: p.message,
    messageId: p.messageId,
    sender: p.sender,
    capture: p.capture,
    frames: [...p.frames],
    retransmissions: p.retransmissions,
    answered: p.answered,
    ipFragmented: p.ipFragmented,
  };
}
