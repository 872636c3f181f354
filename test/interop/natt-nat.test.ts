/**
 * natt-sim ↔ strongSwan 5.9.8 through the MASQUERADE NAT (with port remapping),
 * once with natt-sim as the initiator behind the NAT and once as the responder
 * on the public side. Each run is judged three ways: swanctl's view of the SAs,
 * natt-sim's own --json events, and tshark decrypting the captures taken on
 * both sides of the NAT with the keys natt-sim exported (--keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR,
  Lab,
  NattPeer,
  cleanupStale,
  pskSwanctlConf,
  type Capture,
  type CaptureFrame,
  type CaptureSummary,
  type Charon,
  type ExitInfo,
  type IkeSaStatus,
  type PingResult,
  type SwanctlOutcome,
  type WiresharkRows,
} from './lab.ts';
import { FAST, PSK, charonResponderConf, closeLab, initiatorArgs, one, only, pingArgs, responderArgs, startNattInitiator, startNattResponder, stopAndDecrypt } from './lib/natt-checks.ts';

beforeAll(async () => {
  await cleanupStale();
});

describe('natt-sim initiator behind the NAT ↔ charon responder', () => {
  let lab: Lab;
  let rsp: Charon;
  let ini: NattPeer;
  let inside: Capture;
  let outside: Capture;
  let rspSa: IkeSaStatus;
  let rspSaAfterPings: IkeSaStatus;
  let saAfterExit: IkeSaStatus[];
  let exit: ExitInfo;
  let rows: WiresharkRows;
  let outsideFrames: CaptureFrame[];
  let outsideSummary: CaptureSummary;
  let insideFrames: CaptureFrame[];
  let insideSummary: CaptureSummary;

  beforeAll(async () => {
    lab = await Lab.create({ nat: true, remapPorts: true });
    inside = await lab.startCapture('inside');
    outside = await lab.startCapture('outside');
    rsp = await lab.startCharon('rsp', { swanctlConf: charonResponderConf() });
    ini = startNattInitiator(lab, [
      ...initiatorArgs({ localTs: `${ADDR.innerIni}/32` }),
      ...pingArgs('200ms'),
      // Stay up after the pings: 2 s keepalives need about 5 s of silence to show twice.
      '--keepalive', '2s', '--duration', '5.5s', ...FAST,
    ]);
    await ini.waitFor('child-installed');
    rspSa = only(await rsp.listSas());
    await ini.waitFor('ping-summary', 5_000);
    rspSaAfterPings = only(await rsp.listSas());
    exit = await ini.exited;
    saAfterExit = await rsp.listSas();
    const d = await stopAndDecrypt(lab, ini, inside, outside);
    rows = d.rows;
    ({ frames: outsideFrames, summary: outsideSummary } = d.outside);
    ({ frames: insideFrames, summary: insideSummary } = d.inside);
  });

  afterAll(async () => {
    await closeLab(lab);
  });

  it('charon: IKE_SA ESTABLISHED with natt-sim behind the NAT on a remapped port', () => {
    const est = one(ini, 'sa-established');
    expect(rspSa).toMatchObject({ state: 'ESTABLISHED', version: 2, initiator: false, natRemote: true, natLocal: false, natAny: true });
    expect(rspSa).toMatchObject({ localHost: ADDR.rsp, localPort: 4500, remoteHost: ADDR.natWan, remoteId: 'ini.test', localId: 'rsp.test' });
    expect(rspSa.remotePort).toBeGreaterThanOrEqual(20000);
    expect(rspSa.remotePort).toBeLessThanOrEqual(29999);
    expect(rspSa).toMatchObject({ spiI: est.spiI, spiR: est.spiR });
    expect(rspSa).toMatchObject({ encrAlg: 'AES_GCM_16', encrKeysize: 128, prfAlg: 'PRF_HMAC_SHA2_256', dhGroup: 'CURVE_25519' });
  });

  it('charon: CHILD_SA INSTALLED in tunnel mode with UDP encapsulation, SPIs crossing natt-sim\'s', () => {
    const child = only(rspSa.children);
    const installed = one(ini, 'child-installed');
    expect(child).toMatchObject({ state: 'INSTALLED', mode: 'TUNNEL', protocol: 'ESP', encap: true, localTs: [ADDR.tsRsp], remoteTs: [`${ADDR.innerIni}/32`] });
    expect(`0x${child.spiIn}`).toBe(installed.spiOut);
    expect(`0x${child.spiOut}`).toBe(installed.spiIn);
    expect(installed).toMatchObject({ encap: { local: `${ADDR.iniLan}:4500`, remote: `${ADDR.rsp}:4500` } });
  });

  it('natt-sim: reports natHere (its own DESTINATION hash check) and floats to 4500', () => {
    const nat = one(ini, 'nat-detected');
    expect(nat).toMatchObject({ natHere: true, natFake: false });
    // 5.9.8 always fakes its SOURCE hash (lab README §9), so natThere is set too.
    expect(nat.natThere).toBe(true);
    expect(one(ini, 'ports-floated')).toMatchObject({ from: { local: `${ADDR.iniLan}:500` }, to: { local: `${ADDR.iniLan}:4500`, remote: `${ADDR.rsp}:4500` } });
    expect(one(ini, 'sa-established')).toMatchObject({ natHere: true, local: `${ADDR.iniLan}:4500`, remote: `${ADDR.rsp}:4500`, remoteId: 'rsp.test' });
  });

  it('natt-sim: pings through the tunnel are answered by charon\'s inner address, with RTTs', () => {
    const replies = ini.of('ping-reply');
    expect(replies.map((r) => r.seq)).toEqual([1, 2, 3]);
    for (const r of replies) {
      expect(r).toMatchObject({ from: ADDR.innerRsp, bytes: 64, duplicate: false });
      expect(r.rttUs as number).toBeGreaterThan(0);
      expect(r.rttUs as number).toBeLessThan(500_000);
    }
    const sum = one(ini, 'ping-summary');
    expect(sum).toMatchObject({ dst: ADDR.innerRsp, transmitted: 3, received: 3 });
    expect((sum.rttUs as { avg: number }).avg).toBeGreaterThan(0);
    // charon decapsulated the requests and encapsulated the replies.
    expect(only(rspSaAfterPings.children)).toMatchObject({ packetsIn: 3, packetsOut: 3 });
  });

  it('natt-sim: exits 0 after a DELETE that charon answers; charon has no SA left', () => {
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ini.stderr).toBe('');
    expect(one(ini, 'result')).toMatchObject({ exitCode: 0, established: true, childInstalled: true });
    expect(one(ini, 'sa-deleted')).toMatchObject({ reason: 'local' });
    expect(saAfterExit).toEqual([]);
  });

  it('keepalives: 1-byte 0xff UDP payloads to 4500 from the NAT\'s public address, every 2 s, on both sides of the NAT', () => {
    const sent = ini.of('keepalive-sent');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const ka = outsideFrames.filter((f) => f.natKeepalive);
    expect(ka).toHaveLength(sent.length);
    for (const f of ka) {
      expect(f).toMatchObject({ ipSrc: [ADDR.natWan], ipDst: [ADDR.rsp], sport: rspSa.remotePort, dport: 4500, udpLength: 9 });
    }
    for (const [i, g] of ka.slice(1).map((f, i) => f.t - ka[i]!.t).entries()) expect(g, `gap ${i + 1}`).toBeCloseTo(2, 0);
    // Before the NAT: from natt-sim's own address and port.
    const kaIn = insideFrames.filter((f) => f.natKeepalive);
    expect(kaIn).toHaveLength(ka.length);
    for (const f of kaIn) expect(f).toMatchObject({ ipSrc: [ADDR.iniLan], sport: 4500, dport: 4500, udpLength: 9 });
    // Nothing comes back: charon is not behind a NAT.
    expect(outsideFrames.filter((f) => f.natKeepalive && f.ipSrc[0] === ADDR.rsp)).toEqual([]);
  });

  it('the capture: IKE_SA_INIT on 500 (remapped), everything after it on 4500, ESP only in UDP', () => {
    const init = outsideFrames.filter((f) => f.isIke && f.ikeExchange === 34);
    expect(init).toHaveLength(2);
    for (const f of init) expect([f.sport, f.dport]).toContain(500);
    expect(init[0]!.sport).not.toBe(500);
    for (const f of outsideFrames.filter((x) => x.isIke && x.ikeExchange !== 34)) {
      expect([f.sport, f.dport]).toContain(4500);
      expect(f.nonEspMarker).toBe(true);
    }
    expect(outsideSummary).toMatchObject({ rawEsp: 0, badUdpChecksums: 0 });
    expect(outsideSummary.espInUdp).toBe(outsideSummary.esp);
  });

  it('tshark decrypts both captures with the keys natt-sim exported', () => {
    expect(rows.ikev2).toHaveLength(1);
    expect(rows.ikev2[0]).toMatch(new RegExp(`^${rspSa.spiI},${rspSa.spiR},[0-9a-f]{40},[0-9a-f]{40},"AES-GCM-128 with 16 octet ICV \\[RFC5282\\]"`));
    expect(rows.esp).toHaveLength(2);
    for (const s of [rspSa.children[0]!.spiIn, rspSa.children[0]!.spiOut]) expect(rows.esp.some((r) => r.includes(`"0x${s}"`))).toBe(true);
    expect(outsideSummary).toMatchObject({ esp: 6, espIcvGood: 6, espIcvBad: 0, espEchoRequests: 3, espEchoReplies: 3 });
    // IKE_AUTH both ways and the DELETE exchange: everything but IKE_SA_INIT.
    expect(outsideSummary.ikeAuthDecrypted).toBe(2);
    expect(outsideSummary.ike).toBe(6);
    expect(outsideSummary.ikeDecrypted).toBe(4);
    const del = outsideFrames.filter((f) => f.ikeExchange === 37);
    expect(del.map((f) => f.ikePayloads)).toEqual([[46, 42], [46]]);
    // The echo requests carry natt-sim's inner address behind the NAT's outer one.
    const req = outsideFrames.filter((f) => f.icmpType === 8);
    for (const f of req) expect(f.ipSrc).toEqual([ADDR.natWan, ADDR.innerIni]);
    expect(insideSummary).toMatchObject({ esp: 6, espIcvGood: 6, espEchoRequests: 3, espEchoReplies: 3, ikeAuthDecrypted: 2 });
  });
});

describe('charon initiator behind the NAT ↔ natt-sim responder', () => {
  let lab: Lab;
  let ini: Charon;
  let rsp: NattPeer;
  let inside: Capture;
  let outside: Capture;
  let initiated: SwanctlOutcome;
  let iniSa: IkeSaStatus;
  let iniSaAfterPings: IkeSaStatus;
  let ping: PingResult;
  let terminated: SwanctlOutcome;
  let exit: ExitInfo;
  let rows: WiresharkRows;
  let outsideFrames: CaptureFrame[];
  let outsideSummary: CaptureSummary;
  let insideSummary: CaptureSummary;

  beforeAll(async () => {
    lab = await Lab.create({ nat: true, remapPorts: true });
    inside = await lab.startCapture('inside');
    outside = await lab.startCapture('outside');
    rsp = startNattResponder(lab, [
      ...responderArgs(),
      // Genuine NAT-D hashes: charon must then find only itself behind the NAT.
      '--encap', 'auto', ...FAST,
    ]);
    await rsp.waitFor('listening');
    ini = await lab.startCharon('ini', {
      keepAliveS: 20,
      swanctlConf: pskSwanctlConf({ localId: 'ini.test', remoteId: 'rsp.test', remoteAddrs: ADDR.rsp, psk: PSK, localTs: ADDR.tsIni, remoteTs: ADDR.tsRsp }),
    });
    initiated = await ini.initiate();
    iniSa = only(await ini.listSas());
    ping = await lab.ping({ count: 3 });
    iniSaAfterPings = only(await ini.listSas());
    terminated = await ini.terminate();
    await rsp.waitFor('sa-deleted', 5_000);
    exit = await rsp.stop('SIGTERM');
    const d = await stopAndDecrypt(lab, rsp, inside, outside);
    rows = d.rows;
    ({ frames: outsideFrames, summary: outsideSummary } = d.outside);
    insideSummary = d.inside.summary;
  });

  afterAll(async () => {
    await closeLab(lab);
  });

  it('charon: IKE_SA ESTABLISHED, behind the NAT (nat-local) and nothing else', () => {
    expect(initiated.output).toMatch(/initiate completed successfully/);
    expect(initiated.ok).toBe(true);
    // natt-sim's SOURCE hash is genuine (--encap auto), so no nat-remote.
    expect(iniSa).toMatchObject({ state: 'ESTABLISHED', initiator: true, natLocal: true, natRemote: false, natFake: false, natAny: true });
    expect(iniSa).toMatchObject({ localHost: ADDR.iniLan, localPort: 4500, remoteHost: ADDR.rsp, remotePort: 4500, remoteId: 'rsp.test' });
    expect(iniSa).toMatchObject({ spiI: one(rsp, 'sa-established').spiI, spiR: one(rsp, 'sa-established').spiR });
  });

  it('charon: CHILD_SA INSTALLED with UDP encapsulation, SPIs crossing natt-sim\'s', () => {
    const child = only(iniSa.children);
    const installed = one(rsp, 'child-installed');
    expect(child).toMatchObject({ state: 'INSTALLED', mode: 'TUNNEL', protocol: 'ESP', encap: true, localTs: [ADDR.tsIni], remoteTs: [ADDR.tsRsp] });
    expect(`0x${child.spiIn}`).toBe(installed.spiOut);
    expect(`0x${child.spiOut}`).toBe(installed.spiIn);
  });

  it('natt-sim: sees the peer behind the NAT on a remapped port, itself not behind one', () => {
    expect(one(rsp, 'nat-detected')).toMatchObject({ natHere: false, natThere: true, natFake: false });
    const est = one(rsp, 'sa-established');
    expect(est).toMatchObject({ local: `${ADDR.rsp}:4500`, remoteId: 'ini.test', natHere: false });
    const [host, port] = String(est.remote).split(':');
    expect(host).toBe(ADDR.natWan);
    expect(Number(port)).toBeGreaterThanOrEqual(20000);
    expect(Number(port)).toBeLessThanOrEqual(29999);
    expect(one(rsp, 'child-installed')).toMatchObject({ encap: { local: `${ADDR.rsp}:4500`, remote: est.remote } });
    // A side that is not behind a NAT sends no keepalives.
    expect(rsp.of('keepalive-sent')).toEqual([]);
  });

  it('natt-sim answers echo requests to its inner address through charon\'s tunnel', () => {
    expect(ping).toMatchObject({ transmitted: 3, received: 3, replySeqs: [1, 2, 3], code: 0 });
    expect(ping.rttAvgMs).toBeGreaterThan(0);
    expect(rsp.of('echo-answered').map((e) => [e.from, e.to, e.seq])).toEqual([1, 2, 3].map((s) => [ADDR.innerIni, ADDR.innerRsp, s]));
    expect(only(iniSaAfterPings.children)).toMatchObject({ packetsIn: 3, packetsOut: 3 });
  });

  it('natt-sim: answers charon\'s DELETE and exits 0 on SIGTERM', () => {
    expect(terminated.ok).toBe(true);
    expect(one(rsp, 'sa-deleted')).toMatchObject({ reason: 'remote' });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(rsp.stderr).toBe('');
  });

  it('tshark decrypts both captures with the keys natt-sim exported', () => {
    expect(rows.ikev2).toHaveLength(1);
    expect(rows.ikev2[0]).toContain(`${iniSa.spiI},${iniSa.spiR},`);
    expect(rows.esp).toHaveLength(2);
    expect(outsideSummary).toMatchObject({ esp: 6, espIcvGood: 6, espIcvBad: 0, espEchoRequests: 3, espEchoReplies: 3, rawEsp: 0, ikeAuthDecrypted: 2 });
    expect(outsideSummary.ikeDecrypted).toBe(outsideSummary.ike - 2);
    // The replies come from natt-sim's inner address, to the NAT's public one.
    for (const f of outsideFrames.filter((x) => x.icmpType === 0)) expect(f.ipSrc).toEqual([ADDR.rsp, ADDR.innerRsp]);
    expect(insideSummary).toMatchObject({ esp: 6, espIcvGood: 6, ikeAuthDecrypted: 2 });
  });
});
