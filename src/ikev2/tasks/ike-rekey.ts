/**
 * IKE SA rekeying (RFC 7296 §1.3.2, §2.18): CREATE_CHILD_SA carrying an IKE proposal
 * with the sender's new 8-byte SPI, a Nonce and a KE. The new SA's keys come from
 *
 *   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 *
 * and the side that started the rekey is the original initiator of the new SA. The
 * CHILD_SAs move to the new SA; the rekey initiator then deletes the old one.
 */
import { ProtocolError, bytesEqual } from '../../core/index.ts';
import { createDh, type DhExchange } from '../../crypto/dh.ts';
import { deriveIkeKeys } from '../../crypto/prf.ts';
import { ikeSuiteName, type IkeSuite } from '../../crypto/proposals.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId, isErrorNotify } from '../../wire/ike/constants.ts';
import { payloadsOfType, type Payload } from '../../wire/ike/payload.ts';
import { NotifyError } from '../errors.ts';
import { ExchangeKind } from '../events.ts';
import { acceptIkeAnswer, chosenSaPayload, firstDhGroup, offersDhGroup, saPayloadOf, selectIke, type Selected } from '../proposal-wire.ts';
import { IkeSa, IkeSaState, type QueuedExchange } from '../session.ts';
import { nonceLengthOk, notifyName } from './ike-init.ts';
import { ikeDeleteExchange } from './ike-delete.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';

const ZERO_SPI = new Uint8Array(8);

/** Builds the replacing SA, moves the CHILD_SAs over and reports both. */
function replace(
  env: TaskEnv,
  old: IkeSa,
  v: { weInitiated: boolean; ourSpi: Uint8Array; peerSpi: Uint8Array; suite: IkeSuite; ni: Uint8Array; nr: Uint8Array; shared: Uint8Array },
): IkeSa {
  const spiI = v.weInitiated ? v.ourSpi : v.peerSpi;
  const spiR = v.weInitiated ? v.peerSpi : v.ourSpi;
  const fresh = new IkeSa({
    id: env.newSaId(),
    role: v.weInitiated ? 'initiator' : 'responder',
    spiI,
    spiR,
    config: old.config,
    local: old.local,
    remote: old.remote,
    state: IkeSaState.ESTABLISHED,
    now: env.now,
  });
  const k = deriveIkeKeys({
    prf: v.suite.prf,
    suite: v.suite,
    ni: v.ni,
    nr: v.nr,
    spiI,
    spiR,
    sharedSecret: v.shared,
    oldSkD: old.keys!.skD,
    oldPrf: old.suite!.prf,
  });
  fresh.suite = v.suite;
  fresh.keys = { skD: k.skD, skAi: k.skAi, skAr: k.skAr, skEi: k.skEi, skEr: k.skEr, skPi: k.skPi, skPr: k.skPr };
  fresh.ni = new Uint8Array(v.ni);
  fresh.nr = new Uint8Array(v.nr);
  fresh.floated = old.floated;
  fresh.natHere = old.natHere;
  fresh.natThere = old.natThere;
  fresh.natFake = old.natFake;
  fresh.peerIdText = old.peerIdText;
  fresh.lastNattSendAt = old.lastNattSendAt;
  fresh.lastInboundAt = env.now;
  fresh.establishedAt = env.now;
  fresh.rekeyOf = old.id;
  for (const [id, c] of old.children) fresh.children.set(id, c);
  old.children.clear();
  old.state = IkeSaState.REKEYED;
  old.ikeRekeyAt = undefined;
  env.adopt(fresh);
  env.emit({ type: 'sa-rekeyed', saId: old.id, newSaId: fresh.id, spiI, spiR, suite: ikeSuiteName(v.suite) });
  env.reportEstablished(fresh);
  return fresh;
}

class IkeRekeyInitiator implements InitiatorTask {
  readonly name = 'ike-rekey';
  private spi: Uint8Array | undefined;
  private nonce: Uint8Array | undefined;
  private dh: DhExchange | undefined;

  constructor(private readonly group: number | undefined) {}

  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    const cfg = sa.config;
    this.spi ??= env.allocateIkeSpi();
    this.nonce ??= env.rng.bytes(env.config.nonceLength);
    const current = sa.suite?.dh;
    const group = this.group ?? (current !== undefined && offersDhGroup(cfg.ikeProposals, current) ? current : firstDhGroup(cfg.ikeProposals));
    if (this.dh?.group !== group) this.dh = createDh(group, env.rng);
    out.push(saPayloadOf(cfg.ikeProposals, ProtocolId.IKE, this.spi));
    out.push({ type: PayloadType.NONCE, critical: false, data: this.nonce });
    out.push({ type: PayloadType.KE, critical: false, dhGroup: group, data: this.dh.publicValue });
  }

  process(env: TaskEnv, sa: IkeSa, res: Incoming): TaskResult {
    const p = res.payloads;
    const saP = payloadsOfType(p, PayloadType.SA)[0];
    if (!saP) {
      const err = payloadsOfType(p, PayloadType.N).find((n) => isErrorNotify(n.notifyType));
      if (err?.notifyType === NotifyType.INVALID_KE_PAYLOAD && err.data.length === 2) {
        const g = (err.data[0]! << 8) | err.data[1]!;
        if (g !== this.dh?.group && offersDhGroup(sa.config.ikeProposals, g)) {
          env.queue(sa, ikeRekeyExchange(g));
          return DONE;
        }
      }
      // The old SA stays; a later rekey may succeed (TEMPORARY_FAILURE during another exchange).
      this.reschedule(env, sa);
      env.emit({
        type: 'ike-rekey-failed',
        saId: sa.id,
        ...(err ? { notify: err.notifyType } : {}),
        message: `the peer refused the IKE rekey: ${err ? notifyName(err.notifyType) : 'no SA payload'}`,
      });
      return DONE;
    }
    try {
      const a = acceptIkeAnswer(sa.config.ikeProposals, saP);
      if (a.spi.length !== 8 || bytesEqual(a.spi, ZERO_SPI)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE rekey answer without an 8-byte SPI');
      const ke = payloadsOfType(p, PayloadType.KE)[0];
      const nonce = payloadsOfType(p, PayloadType.NONCE)[0];
      if (!nonce || !nonceLengthOk(nonce.data)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE rekey answer without a valid Nonce');
      if (!ke || ke.dhGroup !== a.suite.dh || a.suite.dh !== this.dh!.group) throw new ProtocolError(NotifyType.INVALID_KE_PAYLOAD, 'IKE rekey answer with a mismatched KE');
      const shared = this.dh!.computeShared(ke.data);
      replace(env, sa, { weInitiated: true, ourSpi: this.spi!, peerSpi: new Uint8Array(a.spi), suite: a.suite, ni: this.nonce!, nr: nonce.data, shared });
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return { kind: 'failed', reason: 'failed', notify: e.notifyType, message: `IKE rekey failed: ${e.message}` };
    }
    sa.queue.length = 0;
    env.queue(sa, ikeDeleteExchange('rekeyed'));
    return DONE;
  }

  private reschedule(env: TaskEnv, sa: IkeSa): void {
    const r = sa.config.rekey;
    if (r.ike > 0) sa.ikeRekeyAt = env.now + Math.max(1, Math.floor(r.ike / 10));
  }
}

export function ikeRekeyExchange(group?: number): QueuedExchange {
  return { kind: ExchangeKind.IKE_REKEY, exchangeType: ExchangeType.CREATE_CHILD_SA, tasks: [new IkeRekeyInitiator(group)] };
}

export class IkeRekeyResponder implements ResponderTask {
  readonly name = 'ike-rekey';
  private sel: Selected<IkeSuite> | undefined;
  private spi: Uint8Array | undefined;
  private nonce: Uint8Array | undefined;
  private dh: DhExchange | undefined;
  private values: { peerSpi: Uint8Array; ni: Uint8Array; shared: Uint8Array } | undefined;

  process(env: TaskEnv, sa: IkeSa, req: Incoming): void {
    if (sa.active?.exchange.kind === ExchangeKind.IKE_REKEY) {
      throw new ProtocolError(NotifyType.TEMPORARY_FAILURE, 'our own IKE rekey is in progress');
    }
    const p = req.payloads;
    const saP = payloadsOfType(p, PayloadType.SA)[0]!;
    const sel = selectIke(sa.config.ikeProposals, saP);
    if (sel.peerSpi.length !== 8 || bytesEqual(sel.peerSpi, ZERO_SPI)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE rekey proposal without an 8-byte SPI');
    const ke = payloadsOfType(p, PayloadType.KE)[0];
    const ni = payloadsOfType(p, PayloadType.NONCE)[0];
    if (!ni || !nonceLengthOk(ni.data)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE rekey request without a valid Nonce');
    const g = sel.suite.dh;
    if (!ke || ke.dhGroup !== g) throw new NotifyError(NotifyType.INVALID_KE_PAYLOAD, `IKE rekey KE for ${ke?.dhGroup ?? 'none'}, ${g} selected`, Uint8Array.of(g >> 8, g & 0xff));
    this.dh = createDh(g, env.rng);
    const shared = this.dh.computeShared(ke.data);
    this.spi = env.allocateIkeSpi();
    this.nonce = env.rng.bytes(env.config.nonceLength);
    this.sel = sel;
    this.values = { peerSpi: new Uint8Array(sel.peerSpi), ni: new Uint8Array(ni.data), shared };
  }

  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    out.push(chosenSaPayload(this.sel!.chosen, ProtocolId.IKE, this.spi!));
    out.push({ type: PayloadType.NONCE, critical: false, data: this.nonce! });
    out.push({ type: PayloadType.KE, critical: false, dhGroup: this.dh!.group, data: this.dh!.publicValue });
  }

  complete(env: TaskEnv, sa: IkeSa): void {
    const v = this.values!;
    replace(env, sa, { weInitiated: false, ourSpi: this.spi!, peerSpi: v.peerSpi, suite: this.sel!.suite, ni: v.ni, nr: this.nonce!, shared: v.shared });
  }
}
