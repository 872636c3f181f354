/**
 * CHILD_SA creation (RFC 7296 §1.2, §1.3.1, §2.9, §2.17): the first CHILD_SA inside
 * IKE_AUTH (no KE, no DH transforms, the IKE_SA_INIT nonces) and further ones in
 * CREATE_CHILD_SA (own nonces, optional PFS KE). The responder narrows the traffic
 * selectors to its configuration and answers NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE or
 * INVALID_KE_PAYLOAD when it cannot accept; those failures leave the IKE SA intact.
 *
 * KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr): initiator→responder keys first, where
 * "initiator" is whoever started the exchange that created the CHILD_SA.
 * Encapsulation follows the SA's conditions: ESP-in-UDP when natHere, natThere or
 * natFake, unless encap is 'off'.
 */
import { ProtocolError } from '../../core/index.ts';
import { DhGroup } from '../../crypto/algorithms.ts';
import { createDh, type DhExchange } from '../../crypto/dh.ts';
import { deriveChildKeys } from '../../crypto/prf.ts';
import type { ChosenProposal, EspSuite } from '../../crypto/proposals.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId, isErrorNotify } from '../../wire/ike/constants.ts';
import { payloadsOfType, type Payload } from '../../wire/ike/payload.ts';
import { makeNotify } from '../../wire/ike/payloads/notify.ts';
import type { TsPayload } from '../../wire/ike/payloads/ts.ts';
import { errorNotify, NotifyError } from '../errors.ts';
import { ExchangeKind } from '../events.ts';
import {
  acceptEspAnswer,
  chosenSaPayload,
  firstDhGroup,
  numberToSpi,
  offersDhGroup,
  saPayloadOf,
  selectEsp,
  spiToNumber,
  withoutDh,
} from '../proposal-wire.ts';
import { ChildState, type ChildSa, type IkeSa, type QueuedExchange } from '../session.ts';
import {
  fromWireSelectors,
  narrowTrafficSelectors,
  sharedSelectorList,
  toWireSelector,
  trafficSelectorWithin,
  type TrafficSelector,
} from '../traffic-selectors.ts';
import { notifyName, nonceLengthOk } from './ike-init.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';
import { childDeleteExchange } from './ike-delete.ts';

function tsPayload(type: typeof PayloadType.TSi | typeof PayloadType.TSr, list: readonly TrafficSelector[]): TsPayload {
  return { type, critical: false, selectors: list.map(toWireSelector) };
}

export interface ChildMaterial {
  readonly suite: EspSuite;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  readonly shared: Uint8Array | undefined;
  /** We started the exchange that creates it. */
  readonly weInitiated: boolean;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
}

/** Derives the keys and builds the CHILD_SA record. */
export function makeChild(env: TaskEnv, sa: IkeSa, m: ChildMaterial): ChildSa {
  const k = deriveChildKeys(sa.suite!.prf, sa.keys!.skD, m.ni, m.nr, m.suite, m.shared);
  const keys = m.weInitiated
    ? { encOut: k.encrI, integOut: k.integI, encIn: k.encrR, integIn: k.integR }
    : { encOut: k.encrR, integOut: k.integR, encIn: k.encrI, integIn: k.integI };
  return {
    id: env.newChildId(),
    spiIn: m.spiIn,
    spiOut: m.spiOut,
    suite: m.suite,
    keys,
    rawKeys: k,
    localTs: sharedSelectorList(m.localTs),
    remoteTs: sharedSelectorList(m.remoteTs),
    encap: sa.udpEncapsulation ? { local: sa.local, remote: sa.remote } : undefined,
    state: ChildState.INSTALLED,
    installedAt: env.now,
    rekeyAt: undefined,
  };
}

export interface ChildCreateOptions {
  /** Inside IKE_AUTH (nonces of IKE_SA_INIT, no KE). */
  readonly inAuth: boolean;
  /** The CHILD_SA this one replaces (adds REKEY_SA). */
  readonly rekeyOf?: ChildSa;
  /** DH group to use for PFS (after INVALID_KE_PAYLOAD). */
  readonly group?: number;
}

export class ChildCreateInitiator implements InitiatorTask {
  readonly name: string;
  private spiIn: number | undefined;
  private nonce: Uint8Array | undefined;
  private dh: DhExchange | undefined;

  constructor(private readonly opts: ChildCreateOptions) {
    this.name = opts.rekeyOf ? 'child-rekey' : 'child-create';
  }

  private proposals(sa: IkeSa) {
    return this.opts.inAuth ? sa.config.espProposals.map(withoutDh) : sa.config.espProposals;
  }

  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    const cfg = sa.config;
    this.spiIn ??= env.allocateEspSpi();
    const spi = numberToSpi(this.spiIn);
    if (this.opts.rekeyOf) {
      out.push(makeNotify(NotifyType.REKEY_SA, new Uint8Array(0), { protocolId: ProtocolId.ESP, spi: numberToSpi(this.opts.rekeyOf.spiIn) }));
    }
    out.push(saPayloadOf(this.proposals(sa), ProtocolId.ESP, spi));
    if (!this.opts.inAuth) {
      this.nonce ??= env.rng.bytes(env.config.nonceLength);
      out.push({ type: PayloadType.NONCE, critical: false, data: this.nonce });
      const group = this.opts.group ?? firstDhGroup(cfg.espProposals);
      if (group !== DhGroup.NONE) {
        if (this.dh?.group !== group) this.dh = createDh(group, env.rng);
        out.push({ type: PayloadType.KE, critical: false, dhGroup: group, data: this.dh.publicValue });
      }
    }
    out.push(tsPayload(PayloadType.TSi, cfg.localTs), tsPayload(PayloadType.TSr, cfg.remoteTs));
  }

  private fail(env: TaskEnv, sa: IkeSa, notify: number, side: 'local' | 'peer', message: string): TaskResult {
    env.emit({
      type: 'child-failed',
      saId: sa.id,
      notify,
      notifyName: notifyName(notify),
      side,
      message,
      ...(this.opts.rekeyOf ? { rekeyOf: this.opts.rekeyOf.id } : {}),
    });
    if (this.opts.rekeyOf && this.opts.rekeyOf.state === ChildState.REKEYING) this.opts.rekeyOf.state = ChildState.INSTALLED;
    return DONE;
  }

  process(env: TaskEnv, sa: IkeSa, res: Incoming): TaskResult {
    if (!sa.established) return DONE;
    const p = res.payloads;
    const saP = payloadsOfType(p, PayloadType.SA)[0];
    if (!saP) {
      const err = payloadsOfType(p, PayloadType.N).find((n) => isErrorNotify(n.notifyType));
      if (err?.notifyType === NotifyType.INVALID_KE_PAYLOAD && !this.opts.inAuth && err.data.length === 2) {
        const g = (err.data[0]! << 8) | err.data[1]!;
        if (g !== this.opts.group && offersDhGroup(sa.config.espProposals, g)) {
          env.queue(sa, childExchange({ ...this.opts, group: g }));
          return DONE;
        }
      }
      if (err) return this.fail(env, sa, err.notifyType, 'peer', `the peer answered ${notifyName(err.notifyType)}`);
      if (this.opts.inAuth) return DONE; // no CHILD_SA requested back: childless IKE SA
      return this.fail(env, sa, NotifyType.INVALID_SYNTAX, 'local', 'CREATE_CHILD_SA response without SA payload');
    }
    let suite: EspSuite;
    let spiOut: number;
    let shared: Uint8Array | undefined;
    let nr = sa.nr!;
    let localTs: TrafficSelector[];
    let remoteTs: TrafficSelector[];
    try {
      const a = acceptEspAnswer(this.proposals(sa), saP);
      suite = a.suite;
      spiOut = spiToNumber(a.spi);
      if (!this.opts.inAuth) {
        const nonce = payloadsOfType(p, PayloadType.NONCE)[0];
        if (!nonce || !nonceLengthOk(nonce.data)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'CREATE_CHILD_SA response without a valid Nonce');
        nr = nonce.data;
        const ke = payloadsOfType(p, PayloadType.KE)[0];
        if (suite.dh !== DhGroup.NONE) {
          if (!this.dh || this.dh.group !== suite.dh || !ke || ke.dhGroup !== suite.dh) {
            throw new ProtocolError(NotifyType.INVALID_KE_PAYLOAD, `PFS group ${suite.dh} chosen without a matching KE exchange`);
          }
          shared = this.dh.computeShared(ke.data);
        }
      }
      const tsi = payloadsOfType(p, PayloadType.TSi)[0];
      const tsr = payloadsOfType(p, PayloadType.TSr)[0];
      localTs = tsi ? fromWireSelectors(tsi.selectors) : [];
      remoteTs = tsr ? fromWireSelectors(tsr.selectors) : [];
      const within = (list: TrafficSelector[], ours: readonly TrafficSelector[]) => list.length > 0 && list.every((t) => ours.some((o) => trafficSelectorWithin(t, o)));
      if (!within(localTs, sa.config.localTs) || !within(remoteTs, sa.config.remoteTs)) {
        throw new ProtocolError(NotifyType.TS_UNACCEPTABLE, 'the responder answered traffic selectors we did not propose');
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // The responder installed its half: tell it to remove that CHILD_SA.
      env.queue(sa, childDeleteExchange([this.spiIn!], 'local'));
      return this.fail(env, sa, e.notifyType, 'local', e.message);
    }
    const child = makeChild(env, sa, {
      suite,
      spiIn: this.spiIn!,
      spiOut,
      ni: this.opts.inAuth ? sa.ni! : this.nonce!,
      nr,
      shared,
      weInitiated: true,
      localTs,
      remoteTs,
    });
    const old = this.opts.rekeyOf;
    env.installChild(sa, child, old?.id);
    if (old) {
      old.state = ChildState.REKEYED;
      env.emit({ type: 'child-rekeyed', saId: sa.id, oldChildId: old.id, newChildId: child.id });
      env.queue(sa, childDeleteExchange([old.spiIn], 'rekeyed'));
    }
    return DONE;
  }
}

/** A CREATE_CHILD_SA exchange for a new (or, with rekeyOf, a replacing) CHILD_SA. */
export function childExchange(opts: Omit<ChildCreateOptions, 'inAuth'>): QueuedExchange {
  return {
    kind: opts.rekeyOf ? ExchangeKind.CHILD_REKEY : ExchangeKind.CHILD_CREATE,
    exchangeType: ExchangeType.CREATE_CHILD_SA,
    tasks: [new ChildCreateInitiator({ ...opts, inAuth: false })],
  };
}

interface Accepted {
  readonly child: ChildSa;
  readonly chosen: ChosenProposal;
  readonly nonce: Uint8Array | undefined;
  readonly dh: DhExchange | undefined;
}

export class ChildCreateResponder implements ResponderTask {
  readonly name: string;
  private result: Accepted | undefined;
  private error: ProtocolError | undefined;

  constructor(
    private readonly inAuth: boolean,
    /** Finds the CHILD_SA being replaced; throws CHILD_SA_NOT_FOUND. */
    private readonly findRekeyed?: (sa: IkeSa, req: Incoming) => ChildSa,
  ) {
    this.name = findRekeyed ? 'child-rekey' : 'child-create';
  }

  private rekeyOf: ChildSa | undefined;

  process(env: TaskEnv, sa: IkeSa, req: Incoming): void {
    try {
      this.result = this.accept(env, sa, req);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.error = e;
    }
  }

  private accept(env: TaskEnv, sa: IkeSa, req: Incoming): Accepted | undefined {
    const p = req.payloads;
    if (this.findRekeyed) this.rekeyOf = this.findRekeyed(sa, req);
    const saP = payloadsOfType(p, PayloadType.SA)[0];
    if (!saP) {
      if (this.inAuth) return undefined; // childless
      throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'CREATE_CHILD_SA request without SA payload');
    }
    const cfg = sa.config;
    const proposals = this.inAuth ? cfg.espProposals.map(withoutDh) : cfg.espProposals;
    const sel = selectEsp(proposals, saP);
    let ni = sa.ni!;
    let nonce: Uint8Array | undefined;
    let dh: DhExchange | undefined;
    let shared: Uint8Array | undefined;
    if (!this.inAuth) {
      const n = payloadsOfType(p, PayloadType.NONCE)[0];
      if (!n || !nonceLengthOk(n.data)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'CREATE_CHILD_SA request without a valid Nonce');
      ni = n.data;
      if (sel.suite.dh !== DhGroup.NONE) {
        const ke = payloadsOfType(p, PayloadType.KE)[0];
        if (!ke || ke.dhGroup !== sel.suite.dh) {
          const g = sel.suite.dh;
          throw new NotifyError(NotifyType.INVALID_KE_PAYLOAD, `PFS group ${g} selected, KE for ${ke?.dhGroup ?? 'none'}`, Uint8Array.of(g >> 8, g & 0xff));
        }
        dh = createDh(sel.suite.dh, env.rng);
        shared = dh.computeShared(ke.data);
      }
    }
    const tsi = payloadsOfType(p, PayloadType.TSi)[0];
    const tsr = payloadsOfType(p, PayloadType.TSr)[0];
    if (!tsi || !tsr) throw new ProtocolError(NotifyType.TS_UNACCEPTABLE, 'request without TSi/TSr');
    const remoteTs = narrowTrafficSelectors(fromWireSelectors(tsi.selectors), cfg.remoteTs);
    const localTs = narrowTrafficSelectors(fromWireSelectors(tsr.selectors), cfg.localTs);
    if (remoteTs.length === 0 || localTs.length === 0) {
      throw new ProtocolError(NotifyType.TS_UNACCEPTABLE, 'the proposed traffic selectors do not overlap ours');
    }
    if (!this.inAuth) nonce = env.rng.bytes(env.config.nonceLength);
    const child = makeChild(env, sa, {
      suite: sel.suite,
      spiIn: env.allocateEspSpi(),
      spiOut: spiToNumber(sel.peerSpi),
      ni,
      nr: this.inAuth ? sa.nr! : nonce!,
      shared,
      weInitiated: false,
      localTs,
      remoteTs,
    });
    return { child, chosen: sel.chosen, nonce, dh };
  }

  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    if (this.error) {
      out.push(errorNotify(this.error));
      return;
    }
    const r = this.result;
    if (!r) return;
    out.push(chosenSaPayload(r.chosen, ProtocolId.ESP, numberToSpi(r.child.spiIn)));
    if (r.nonce) out.push({ type: PayloadType.NONCE, critical: false, data: r.nonce });
    if (r.dh) out.push({ type: PayloadType.KE, critical: false, dhGroup: r.dh.group, data: r.dh.publicValue });
    out.push(tsPayload(PayloadType.TSi, r.child.remoteTs), tsPayload(PayloadType.TSr, r.child.localTs));
  }

  complete(env: TaskEnv, sa: IkeSa): void {
    if (this.error) {
      env.emit({
        type: 'child-failed',
        saId: sa.id,
        notify: this.error.notifyType,
        notifyName: notifyName(this.error.notifyType),
        side: 'local',
        message: this.error.message,
        ...(this.rekeyOf ? { rekeyOf: this.rekeyOf.id } : {}),
      });
      return;
    }
    if (!this.result || !sa.alive) return;
    const old = this.rekeyOf;
    env.installChild(sa, this.result.child, old?.id);
    if (old) {
      // The old inbound SA stays until the peer's Delete for it arrives.
      old.state = ChildState.REKEYED;
      old.rekeyAt = undefined;
      env.emit({ type: 'child-rekeyed', saId: sa.id, oldChildId: old.id, newChildId: this.result.child.id });
    }
  }
}
