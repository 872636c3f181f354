/**
 * natt-sim initiator ↔ charon 5.9.8 responder without a NAT (ini on the public
 * segment, the middle namespace a plain bridge), once with `--encap auto` and
 * once with `--encap force`. 5.9.8 always forces UDP encapsulation itself
 * (lab README §9), so both runs float to 4500; what differs is who fakes NAT-D,
 * and that shows in swanctl's flags and in the hashes on the wire.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR,
  Lab,
  NattPeer,
  cleanupStale,
  natdOnWire,
  type Capture,
  type CaptureSummary,
  type Charon,
  type ExitInfo,
  type IkeSaStatus,
  type NatdOnWire,
  type PeerEvent,
} from './lab.ts';
import { FAST, charonResponderConf, closeLab, initiatorArgs, only, pingArgs, startNattInitiator } from './lib/natt-checks.ts';

/** RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port). */
function natdHash(spiI: string, spiR: string, ip: string, port: number): string {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return createHash('sha1')
    .update(Buffer.from(spiI, 'hex'))
    .update(Buffer.from(spiR, 'hex'))
    .update(Buffer.from(ip.split('.').map(Number)))
    .update(p)
    .digest('hex');
}

interface Run {
  lab: Lab;
  rsp: Charon;
  ini: NattPeer;
  wire: Capture;
  rspSa: IkeSaStatus;
  exit: ExitInfo;
  summary: CaptureSummary;
  natd: NatdOnWire[];
}

/** One natt-sim initiator run against a charon responder, without NAT. */
async function runNoNat(encap: 'auto' | 'force'): Promise<Run> {
  const lab = await Lab.create({ nat: false });
  try {
    return await runIn(lab, encap);
  } catch (e) {
    // A failed start still tears the lab down (the checks then fail on `r` being unset).
    await lab.close();
    throw e;
  }
}

async function runIn(lab: Lab, encap: 'auto' | 'force'): Promise<Run> {
  const wire = await lab.startCapture('outside');
  const rsp = await lab.startCharon('rsp', { swanctlConf: charonResponderConf() });
  const ini = startNattInitiator(lab, [
    ...initiatorArgs({ local: ADDR.iniPublic }),
    '--encap', encap, ...pingArgs('200ms'),
    // Silence after the pings, longer than the keepalive interval: a side behind NAT would send one.
    '--keepalive', '1s', '--duration', '2.5s', ...FAST,
  ]);
  await ini.waitFor('ping-summary');
  const rspSa = only(await rsp.listSas());
  const exit = await ini.exited;
  await wire.stop();
  const { summary } = await lab.decrypt(wire, ini.rows());
  const natd = await natdOnWire(wire.file, lab.id);
  return { lab, rsp, ini, wire, rspSa, exit, summary, natd };
}

function natOf(ini: NattPeer): PeerEvent {
  return only(ini.of('nat-detected'));
}

beforeAll(async () => {
  await cleanupStale();
});

describe('natt-sim initiator ↔ charon responder without NAT (--encap auto)', () => {
  let r: Run;
  beforeAll(async () => {
    r = await runNoNat('auto');
  });
  afterAll(async () => {
    await closeLab(r.lab);
  });

  it('natt-sim: not behind a NAT; the peer\'s (always faked) SOURCE hash makes it float anyway', () => {
    expect(r.lab.iniAddr).toBe(ADDR.iniPublic);
    expect(natOf(r.ini)).toMatchObject({ natHere: false, natThere: true, natFake: false });
    expect(only(r.ini.of('ports-floated'))).toMatchObject({ to: { local: `${ADDR.iniPublic}:4500`, remote: `${ADDR.rsp}:4500` } });
  });

  it('charon: ESTABLISHED, natt-sim\'s hashes match (no nat-remote), charon fakes NAT itself (nat-fake), CHILD_SA encap', () => {
    expect(r.rspSa).toMatchObject({ state: 'ESTABLISHED', natLocal: false, natRemote: false, natFake: true, natAny: true });
    expect(r.rspSa).toMatchObject({ remoteHost: ADDR.iniPublic, remotePort: 4500, localPort: 4500 });
    expect(only(r.rspSa.children)).toMatchObject({ state: 'INSTALLED', mode: 'TUNNEL', encap: true });
  });

  it('the wire: natt-sim\'s NAT-D hashes are the genuine SHA-1 of its address and the responder\'s', () => {
    const req = only(r.natd.filter((m) => !m.response));
    expect(req.ipSrc).toBe(ADDR.iniPublic);
    expect(req.source).toEqual([natdHash(req.spiI, req.spiR, ADDR.iniPublic, 500)]);
    expect(req.destination).toEqual([natdHash(req.spiI, req.spiR, ADDR.rsp, 500)]);
  });

  it('pings answered, no keepalives, exit 0, and tshark decrypts with natt-sim\'s keys', () => {
    expect(only(r.ini.of('ping-summary'))).toMatchObject({ transmitted: 3, received: 3 });
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(r.ini.of('keepalive-sent')).toEqual([]);
    expect(r.summary).toMatchObject({ keepalives: 0, rawEsp: 0, esp: 6, espIcvGood: 6, espEchoRequests: 3, espEchoReplies: 3, ikeAuthDecrypted: 2 });
  });
});

describe('natt-sim initiator ↔ charon responder without NAT (--encap force)', () => {
  let r: Run;
  beforeAll(async () => {
    r = await runNoNat('force');
  });
  afterAll(async () => {
    await closeLab(r.lab);
  });

  it('charon: sees the NAT natt-sim fakes (nat-remote, no nat-fake of its own) and encapsulates', () => {
    expect(r.rspSa).toMatchObject({ state: 'ESTABLISHED', natLocal: false, natRemote: true, natFake: false, natAny: true });
    expect(r.rspSa).toMatchObject({ remoteHost: ADDR.iniPublic, remotePort: 4500, localPort: 4500 });
    expect(only(r.rspSa.children)).toMatchObject({ state: 'INSTALLED', encap: true });
  });

  it('the wire: natt-sim\'s SOURCE hash is not that of its address; its DESTINATION hash is genuine', () => {
    const req = only(r.natd.filter((m) => !m.response));
    expect(req.source).toHaveLength(1);
    expect(req.source[0]).toMatch(/^[0-9a-f]{40}$/);
    expect(req.source[0]).not.toBe(natdHash(req.spiI, req.spiR, ADDR.iniPublic, 500));
    expect(req.destination).toEqual([natdHash(req.spiI, req.spiR, ADDR.rsp, 500)]);
  });

  it('natt-sim: still not behind a NAT, floats, pings answered, exit 0, tshark decrypts', () => {
    expect(natOf(r.ini)).toMatchObject({ natHere: false, natThere: true });
    expect(only(r.ini.of('ports-floated'))).toMatchObject({ to: { local: `${ADDR.iniPublic}:4500` } });
    expect(only(r.ini.of('ping-summary'))).toMatchObject({ transmitted: 3, received: 3 });
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(r.ini.of('keepalive-sent')).toEqual([]);
    expect(r.summary).toMatchObject({ keepalives: 0, rawEsp: 0, esp: 6, espIcvGood: 6, espEchoRequests: 3, espEchoReplies: 3, ikeAuthDecrypted: 2 });
  });
});
