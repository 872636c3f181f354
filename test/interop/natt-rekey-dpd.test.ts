/**
 * Liveness checks (DPD) and CHILD_SA rekeys behind the MASQUERADE NAT, each
 * started once by natt-sim and once by charon. A liveness check is sent only
 * after a stretch with nothing received, and each side's checks are traffic
 * for the other, so each run lets only one side check.
 *
 * natt-sim initiator behind the NAT ↔ charon responder:
 *   0–0.6 s  natt-sim pings charon's inner address through the new tunnel;
 *   then     silence: natt-sim checks liveness after 1 s of it (--dpd 1s), charon answers;
 *   4 s      natt-sim rekeys the CHILD_SA (--rekey-child 4s) and deletes the old one;
 *   then     charon pings natt-sim's inner address over the new CHILD_SA (ping
 *            in rsp, through charon's ipsec0), and natt-sim answers;
 *   6 s      natt-sim shuts down with a DELETE (--duration 6s).
 *
 * charon initiator behind the NAT ↔ natt-sim responder:
 *   0–0.5 s  pings from ini through charon's tunnel, answered by natt-sim;
 *   then     silence: charon checks liveness after 1 s of it (dpd_delay = 1s), natt-sim answers;
 *   3 s      charon rekeys the CHILD_SA (rekey_time = 3s, rand_time = 0);
 *   then     pings again, over the new CHILD_SA; swanctl --terminate.
 *
 * Judged on swanctl's view, on natt-sim's events and on both captures
 * decrypted with the keys natt-sim exported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR,
  Lab,
  NattPeer,
  cleanupStale,
  pskSwanctlConf,
  sleep,
  type Capture,
  type PingResult,
  type CaptureFrame,
  type CaptureSummary,
  type Charon,
  type ChildSaStatus,
  type ExitInfo,
  type IkeSaStatus,
  type PeerEvent,
} from './lab.ts';
import { FAST, PSK, charonResponderConf, closeLab, initiatorArgs, one, only, pingArgs, responderArgs, startNattInitiator, startNattResponder, stopAndDecrypt } from './lib/natt-checks.ts';

const CREATE_CHILD_SA = 36;
const INFORMATIONAL = 37;
/** IKEv2 payload types. */
const SK = 46;
const DELETE = 42;

function installed(sa: IkeSaStatus | undefined): ChildSaStatus[] {
  return (sa?.children ?? []).filter((c) => c.state === 'INSTALLED');
}

/**
 * Polls charon until its one IKE_SA holds exactly one INSTALLED CHILD_SA with these SPIs
 * (or the time is up). 5.9.8 keeps a rekeyed CHILD_SA listed for a while in another state.
 */
async function childWithSpis(charon: Charon, spiIn: string, spiOut: string, timeoutMs = 3_000): Promise<IkeSaStatus[]> {
  const deadline = performance.now() + timeoutMs;
  let sas = await charon.listSas();
  while (performance.now() < deadline) {
    const c = installed(sas[0]);
    if (sas.length === 1 && c.length === 1 && c[0]!.spiIn === spiIn && c[0]!.spiOut === spiOut) break;
    await sleep(100);
    sas = await charon.listSas();
  }
  return sas;
}

/** A liveness check: an INFORMATIONAL whose SK payload carries nothing. */
function isEmptyInformational(e: PeerEvent): boolean {
  return e.exchangeName === 'INFORMATIONAL' && Array.isArray(e.payloads) && e.payloads.length === 0;
}

beforeAll(async () => {
  await cleanupStale();
});

describe('natt-sim initiator behind the NAT checks liveness and rekeys; charon responds', () => {
  let lab: Lab;
  let rsp: Charon;
  let ini: NattPeer;
  let inside: Capture;
  let outside: Capture;
  let before: ChildSaStatus;
  let afterRekey: IkeSaStatus[];
  let rekeyedAt: number;
  let exit: ExitInfo;
  let outsideFrames: CaptureFrame[];
  let outsideSummary: CaptureSummary;
  let insideSummary: CaptureSummary;
  let newChild: PeerEvent;
  let pingAfter: PingResult;
  let afterPing: IkeSaStatus[];

  beforeAll(async () => {
    lab = await Lab.create({ nat: true });
    inside = await lab.startCapture('inside');
    outside = await lab.startCapture('outside');
    rsp = await lab.startCharon('rsp', { swanctlConf: charonResponderConf() });
    ini = startNattInitiator(lab, [...initiatorArgs(), ...pingArgs('300ms'), '--dpd', '1s', '--rekey-child', '4s', '--duration', '6s', ...FAST]);
    await ini.waitFor('child-installed');
    before = only(only(await rsp.listSas()).children);
    newChild = await ini.waitFor('child-installed', 5_000, (e) => e.rekeyOf !== undefined);
    rekeyedAt = newChild.at;
    afterRekey = await childWithSpis(rsp, String(newChild.spiOut).slice(2), String(newChild.spiIn).slice(2));
    pingAfter = await lab.ping({ role: 'rsp', from: ADDR.innerRsp, to: ADDR.innerIni, count: 3 });
    afterPing = await rsp.listSas();
    exit = await ini.exited;
    const d = await stopAndDecrypt(lab, ini, inside, outside);
    ({ frames: outsideFrames, summary: outsideSummary } = d.outside);
    insideSummary = d.inside.summary;
  });

  afterAll(async () => {
    await closeLab(lab);
  });

  it('charon: after the rekey the one INSTALLED CHILD_SA has new SPIs, still with UDP encapsulation', () => {
    const sa = only(afterRekey);
    expect(sa).toMatchObject({ state: 'ESTABLISHED', natRemote: true, remoteHost: ADDR.natWan });
    const child = only(installed(sa));
    expect(child).toMatchObject({ mode: 'TUNNEL', encap: true, localTs: [ADDR.tsRsp], remoteTs: [ADDR.tsIni] });
    expect(child.spiIn).not.toBe(before.spiIn);
    expect(child.spiOut).not.toBe(before.spiOut);
    expect(`0x${child.spiIn}`).toBe(newChild.spiOut);
    expect(`0x${child.spiOut}`).toBe(newChild.spiIn);
    expect(`0x${before.spiIn}`).toBe(ini.of('child-installed')[0]!.spiOut);
    // The old one is no longer installed.
    expect(sa.children.filter((c) => c.spiIn === before.spiIn && c.state === 'INSTALLED')).toEqual([]);
  });

  it('natt-sim: rekeyed the CHILD_SA with CREATE_CHILD_SA through the NAT and deleted the old one', () => {
    const first = ini.of('child-installed')[0]!;
    expect(newChild.rekeyOf).toBe(first.childId);
    expect(newChild.at as number).toBeGreaterThan(3_900_000);
    expect(one(ini, 'child-rekeyed')).toMatchObject({ oldChildId: first.childId, newChildId: newChild.childId });
    expect(ini.of('message-sent').filter((m) => m.exchangeName === 'CREATE_CHILD_SA' && m.isResponse === false)).toMatchObject([
      { src: `${ADDR.iniLan}:4500`, dst: `${ADDR.rsp}:4500`, payloads: ['N(REKEY_SA)', 'SA', 'No', 'TSi', 'TSr'] },
    ]);
    expect(ini.of('child-deleted').filter((e) => e.childId === first.childId)).toMatchObject([{ reason: 'rekeyed' }]);
  });

  it('traffic flows before and after the rekey, each time on the CHILD_SA of the moment', () => {
    expect(ini.of('ping-reply').map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(ini.of('ping-reply').every((r) => (r.at as number) < newChild.at)).toBe(true);
    // After the rekey charon pings natt-sim's inner address, and natt-sim answers.
    expect(pingAfter).toMatchObject({ transmitted: 3, received: 3, replySeqs: [1, 2, 3] });
    const answered = ini.of('echo-answered');
    expect(answered.map((e) => [e.from, e.to])).toEqual([1, 2, 3].map(() => [ADDR.innerRsp, ADDR.innerIni]));
    expect(answered.every((e) => e.at > newChild.at)).toBe(true);
    expect(only(installed(only(afterPing)))).toMatchObject({ spiIn: afterRekey[0]!.children.find((c) => c.state === 'INSTALLED')!.spiIn, packetsIn: 3, packetsOut: 3 });
    // On the wire: 6 frames on the old SPIs (natt-sim's pings), 6 on the new (charon's).
    const spis = (a: string, b: string) => [a, b].map((x) => parseInt(x.replace(/^0x/, ''), 16));
    const oldSpis = spis(before.spiIn, before.spiOut);
    const newSpis = spis(String(newChild.spiIn), String(newChild.spiOut));
    const echo = outsideFrames.filter((f) => f.icmpType !== undefined);
    expect(echo.filter((f) => oldSpis.includes(f.espSpi!)).map((f) => f.icmpType)).toEqual([8, 0, 8, 0, 8, 0]);
    expect(echo.filter((f) => newSpis.includes(f.espSpi!)).map((f) => f.icmpType)).toEqual([8, 0, 8, 0, 8, 0]);
    for (const f of echo.filter((x) => newSpis.includes(x.espSpi!) && x.icmpType === 8)) expect(f.ipSrc).toEqual([ADDR.rsp, ADDR.innerRsp]);
  });

  it('the capture: the CREATE_CHILD_SA exchange is decrypted, and every ESP frame of both SAs with it', () => {
    const ccs = outsideFrames.filter((f) => f.ikeExchange === CREATE_CHILD_SA);
    expect(ccs).toHaveLength(2);
    expect(ccs.every((f) => f.ikeDecrypted)).toBe(true);
    expect(ccs[0]).toMatchObject({ ipSrc: [ADDR.natWan], dport: 4500, ikeResponse: false });
    expect(ccs[1]).toMatchObject({ ipSrc: [ADDR.rsp], sport: 4500, ikeResponse: true, ikeMessageId: ccs[0]!.ikeMessageId });
    expect(outsideSummary).toMatchObject({ esp: 12, espIcvGood: 12, espIcvBad: 0, espEchoRequests: 6, espEchoReplies: 6, rawEsp: 0 });
    expect(insideSummary).toMatchObject({ esp: 12, espIcvGood: 12 });
  });

  it('DPD: natt-sim checks liveness after 1 s of silence and charon answers', () => {
    const checks = ini.of('message-sent').filter((m) => isEmptyInformational(m) && m.isResponse === false);
    expect(checks.length).toBeGreaterThanOrEqual(1);
    for (const c of checks) {
      expect(ini.of('message-received').some((m) => isEmptyInformational(m) && m.isResponse === true && m.messageId === c.messageId)).toBe(true);
    }
    // On the wire: an empty SK from the NAT's address, answered by an empty SK with the same message ID.
    const wire = outsideFrames.filter((f) => f.ikeExchange === INFORMATIONAL && f.ikeDecrypted && f.ikePayloads.join() === String(SK));
    const ours = wire.filter((f) => f.ipSrc[0] === ADDR.natWan && !f.ikeResponse);
    expect(ours.length).toBe(checks.length);
    for (const q of ours) expect(wire.some((a) => a.ipSrc[0] === ADDR.rsp && a.ikeResponse && a.ikeMessageId === q.ikeMessageId && a.t > q.t)).toBe(true);
    // The first one after 1 s of silence: the last ping reply came at about 0.6 s.
    const lastIn = Math.max(...ini.of('ping-reply').map((r) => r.at));
    expect((checks[0]!.at - lastIn) / 1e6).toBeCloseTo(1, 0);
    // charon, whose dpd_delay is not set, never asked.
    expect(ini.of('message-received').filter((m) => isEmptyInformational(m) && m.isResponse === false)).toEqual([]);
  });

  it('ends with a DELETE that charon answers, exit 0', () => {
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ini.stderr).toBe('');
    expect(one(ini, 'sa-deleted')).toMatchObject({ reason: 'local' });
    const del = outsideFrames.filter((f) => f.ikeExchange === INFORMATIONAL && f.ikePayloads.includes(DELETE));
    // The old CHILD_SA's DELETE (and charon's answer), then the IKE_SA's.
    expect(del.length).toBeGreaterThanOrEqual(3);
  });
});

describe('charon initiator behind the NAT checks liveness and rekeys; natt-sim responds', () => {
  let lab: Lab;
  let ini: Charon;
  let rsp: NattPeer;
  let inside: Capture;
  let outside: Capture;
  let before: ChildSaStatus;
  let pingBefore: PingResult;
  let newChild: PeerEvent;
  let afterRekey: IkeSaStatus[];
  let pingAfter: PingResult;
  let afterPing: IkeSaStatus[];
  let exit: ExitInfo;
  let outsideFrames: CaptureFrame[];
  let outsideSummary: CaptureSummary;
  let insideSummary: CaptureSummary;

  beforeAll(async () => {
    lab = await Lab.create({ nat: true });
    inside = await lab.startCapture('inside');
    outside = await lab.startCapture('outside');
    rsp = startNattResponder(lab, [...responderArgs(), ...FAST]);
    await rsp.waitFor('listening');
    ini = await lab.startCharon('ini', {
      swanctlConf: pskSwanctlConf({
        localId: 'ini.test', remoteId: 'rsp.test', remoteAddrs: ADDR.rsp, psk: PSK, localTs: ADDR.tsIni, remoteTs: ADDR.tsRsp,
        dpdDelayS: 1, childRekeyS: 3,
      }),
    });
    const o = await ini.initiate();
    if (!o.ok) throw new Error(`charon did not initiate: ${o.output}`);
    before = only(installed(only(await ini.listSas())));
    pingBefore = await lab.ping({ count: 3 });
    newChild = await rsp.waitFor('child-installed', 6_000, (e) => e.rekeyOf !== undefined);
    afterRekey = await childWithSpis(ini, String(newChild.spiOut).slice(2), String(newChild.spiIn).slice(2));
    pingAfter = await lab.ping({ count: 3 });
    afterPing = await ini.listSas();
    await ini.terminate();
    await rsp.waitFor('sa-deleted', 5_000);
    exit = await rsp.stop('SIGTERM');
    const d = await stopAndDecrypt(lab, rsp, inside, outside);
    ({ frames: outsideFrames, summary: outsideSummary } = d.outside);
    insideSummary = d.inside.summary;
  });

  afterAll(async () => {
    await closeLab(lab);
  });

  it('DPD: charon checks liveness from behind the NAT after a second of silence, natt-sim answers', () => {
    const checks = rsp.of('message-received').filter((m) => isEmptyInformational(m) && m.isResponse === false);
    expect(checks.length).toBeGreaterThanOrEqual(1);
    for (const c of checks) {
      expect(c.src).toMatch(new RegExp(`^${ADDR.natWan.replace(/\./g, '\\.')}:\\d+$`));
      expect(rsp.of('message-sent').some((m) => isEmptyInformational(m) && m.isResponse === true && m.messageId === c.messageId)).toBe(true);
    }
    const wire = outsideFrames.filter((f) => f.ikeExchange === INFORMATIONAL && f.ikeDecrypted && f.ikePayloads.join() === String(SK));
    const asked = wire.filter((f) => f.ipSrc[0] === ADDR.natWan && !f.ikeResponse);
    expect(asked.length).toBe(checks.length);
    for (const q of asked) expect(wire.some((a) => a.ipSrc[0] === ADDR.rsp && a.ikeResponse && a.ikeMessageId === q.ikeMessageId && a.t > q.t)).toBe(true);
    expect(ini.log()).toMatch(/sending DPD request/);
    // natt-sim (no --dpd) never asked.
    expect(rsp.of('message-sent').filter((m) => isEmptyInformational(m) && m.isResponse === false)).toEqual([]);
  });

  it('rekey: natt-sim answers charon\'s CREATE_CHILD_SA; charon shows one INSTALLED CHILD_SA with new SPIs', () => {
    const req = rsp.of('message-received').filter((m) => m.exchangeName === 'CREATE_CHILD_SA' && m.isResponse === false);
    expect(req).toHaveLength(1);
    expect(req[0]!.payloads).toContain('N(REKEY_SA)');
    const first = rsp.of('child-installed')[0]!;
    expect(newChild.rekeyOf).toBe(first.childId);
    expect(`0x${before.spiIn}`).toBe(first.spiOut);
    const child = only(installed(only(afterRekey)));
    expect(child).toMatchObject({ encap: true, mode: 'TUNNEL' });
    expect(child.spiIn).not.toBe(before.spiIn);
    expect(`0x${child.spiIn}`).toBe(newChild.spiOut);
    expect(`0x${child.spiOut}`).toBe(newChild.spiIn);
    expect(only(afterRekey)).toMatchObject({ natLocal: true, state: 'ESTABLISHED' });
    // The old CHILD_SA is gone on natt-sim's side too.
    expect(rsp.of('child-deleted').filter((e) => e.childId === first.childId)).toHaveLength(1);
  });

  it('traffic flows before and after the rekey, answered by natt-sim, on the SPIs of the moment', () => {
    expect(pingBefore).toMatchObject({ transmitted: 3, received: 3 });
    expect(pingAfter).toMatchObject({ transmitted: 3, received: 3 });
    expect(rsp.of('echo-answered')).toHaveLength(6);
    expect(only(installed(only(afterPing)))).toMatchObject({ spiIn: String(newChild.spiOut).slice(2), packetsIn: 3, packetsOut: 3 });
    const spis = (a: string, b: string) => [a, b].map((x) => parseInt(x.replace(/^0x/, ''), 16));
    const echo = outsideFrames.filter((f) => f.icmpType !== undefined);
    expect(echo.filter((f) => spis(before.spiIn, before.spiOut).includes(f.espSpi!)).map((f) => f.icmpType)).toEqual([8, 0, 8, 0, 8, 0]);
    expect(echo.filter((f) => spis(String(newChild.spiIn), String(newChild.spiOut)).includes(f.espSpi!)).map((f) => f.icmpType)).toEqual([8, 0, 8, 0, 8, 0]);
  });

  it('the captures decrypt with natt-sim\'s keys: the rekey exchange and all ESP of both CHILD_SAs', () => {
    const ccs = outsideFrames.filter((f) => f.ikeExchange === CREATE_CHILD_SA);
    expect(ccs).toHaveLength(2);
    expect(ccs.every((f) => f.ikeDecrypted)).toBe(true);
    expect(ccs[0]).toMatchObject({ ipSrc: [ADDR.natWan], ikeResponse: false });
    expect(outsideSummary).toMatchObject({ esp: 12, espIcvGood: 12, espIcvBad: 0, rawEsp: 0 });
    expect(insideSummary).toMatchObject({ esp: 12, espIcvGood: 12 });
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
