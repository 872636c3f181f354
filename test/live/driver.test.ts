/**
 * The live driver in-process: two LivePeers on loopback with a small UDP relay in
 * between that rewrites addresses and ports like a NAT (127.0.0.3 in front of the
 * responder, a fresh source port per client flow). Both peers then find NAT on their
 * side, so both send keepalives; pings cross the relay as ESP-in-UDP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { SeededRng, parseIp, type Micros } from '../../src/core/index.ts';
import type { PeerConfig } from '../../src/ikev2/index.ts';
import { LivePeer, RAW_ESP_UNSUPPORTED, type LiveEvent } from '../../src/live/index.ts';

const FRONT = '127.0.0.3';
const BACK = '127.0.0.2';

/** Forwards datagrams sent to FRONT:port on to BACK:port from a per-client socket, and the answers back. */
class UdpRelay {
  private readonly sockets: Socket[] = [];
  forwarded = 0;

  async listen(ports: readonly number[]): Promise<void> {
    for (const port of ports) {
      const front = await this.bind(port);
      const flows = new Map<string, Socket>();
      front.on('message', async (msg, from) => {
        const key = `${from.address}:${from.port}`;
        let out = flows.get(key);
        if (!out) {
          out = await this.bind(0);
          flows.set(key, out);
          out.on('message', (reply) => front.send(reply, from.port, from.address));
        }
        this.forwarded++;
        out.send(msg, port, BACK);
      });
    }
  }

  private bind(port: number): Promise<Socket> {
    const s = createSocket('udp4');
    this.sockets.push(s);
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, FRONT, () => resolve(s));
    });
  }

  close(): void {
    for (const s of this.sockets) s.close();
    this.sockets.length = 0;
  }
}

function config(side: 'ini' | 'rsp', ports: { ike: number; natt: number }): PeerConfig {
  return side === 'ini'
    ? {
        name: 'net',
        localAddrs: ['127.0.0.1'],
        remote: `${FRONT}:${ports.ike}`,
        psk: 'driver-test-psk-0123',
        localId: 'ini.test',
        remoteId: 'rsp.test',
        localTs: ['10.77.10.1/32'],
        remoteTs: ['10.77.20.0/24'],
        encap: 'auto',
        keepaliveInterval: 300_000,
        retransmit: { timeout: 500_000, tries: 2 },
        ports,
      }
    : {
        name: 'net',
        localAddrs: [BACK],
        psk: 'driver-test-psk-0123',
        localId: 'rsp.test',
        localTs: ['10.77.20.0/24'],
        remoteTs: ['10.77.10.0/24'],
        encap: 'auto',
        keepaliveInterval: 300_000,
        ports,
      };
}

const peers: LivePeer[] = [];
const relays: UdpRelay[] = [];
afterAll(async () => {
  for (const p of peers) p.stop('cleanup');
  for (const p of peers) p.stop('cleanup');
  await Promise.all(peers.map((p) => p.done));
  for (const r of relays) r.close();
});

function waitFor(events: LiveEvent[], pred: (e: LiveEvent) => boolean, ms: number): Promise<LiveEvent> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      const hit = events.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - started > ms) return reject(new Error(`event not seen within ${ms} ms: ${events.map((e) => e.type).join(',')}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

describe('LivePeer through an address-rewriting relay', () => {
  it('detects NAT on both sides, sends keepalives, pings across, and deletes cleanly', async () => {
    const ports = { ike: 15530, natt: 15531 };
    const relay = new UdpRelay();
    relays.push(relay);
    await relay.listen([ports.ike, ports.natt]);
    const rspEvents: LiveEvent[] = [];
    const iniEvents: LiveEvent[] = [];
    const rsp = new LivePeer({ role: 'responder', peer: config('rsp', ports), rng: new SeededRng(7), inner: parseIp('10.77.20.1'), onEvent: (e) => rspEvents.push(e) });
    peers.push(rsp);
    await rsp.start();
    const ini = new LivePeer({
      role: 'initiator',
      peer: config('ini', ports),
      rng: new SeededRng(8),
      inner: parseIp('10.77.10.1'),
      ping: { dst: parseIp('10.77.20.1'), count: 2, intervalUs: 50_000, waitUs: 1_000_000, id: 0x4242 },
      durationUs: 1_400_000,
      onEvent: (e) => iniEvents.push(e),
    });
    peers.push(ini);
    const result = await ini.run();

    expect(result).toMatchObject({ exitCode: 0, established: true, childInstalled: true, pingsTransmitted: 2, pingsReceived: 2 });
    const nat = iniEvents.find((e) => e.type === 'nat-detected');
    expect(nat).toMatchObject({ natHere: true, natThere: true, natFake: false });
    const child = iniEvents.find((e) => e.type === 'child-installed');
    // The responder is reached at the relay's NAT-T port; it answers from there.
    expect(child).toMatchObject({ encap: { local: { port: ports.natt }, remote: { port: ports.natt } } });
    const replies = iniEvents.filter((e) => e.type === 'ping-reply');
    expect(replies.map((e) => (e.type === 'ping-reply' ? e.seq : 0))).toEqual([1, 2]);
    // Behind "NAT", each side keeps its mapping alive with one 0xFF byte after 300 ms of silence.
    expect(iniEvents.filter((e) => e.type === 'keepalive-sent').length).toBeGreaterThanOrEqual(2);
    await waitFor(rspEvents, (e) => e.type === 'sa-deleted', 3000);
    expect(rspEvents.filter((e) => e.type === 'keepalive-received').length).toBeGreaterThanOrEqual(2);
    expect(rspEvents.filter((e) => e.type === 'keepalive-sent').length).toBeGreaterThanOrEqual(1);
    expect(rspEvents.filter((e) => e.type === 'echo-answered')).toHaveLength(2);
    expect(rspEvents.find((e) => e.type === 'sa-deleted')).toMatchObject({ reason: 'remote' });
    // The responder saw the relay's rewritten source, not 127.0.0.1.
    const rspSa = rspEvents.find((e) => e.type === 'sa-established');
    expect(rspSa).toMatchObject({ remote: { addr: { family: 4, bytes: Uint8Array.of(127, 0, 0, 3) } } });
    expect(relay.forwarded).toBeGreaterThan(6);

    rsp.stop('test done');
    const r2 = await rsp.done;
    expect(r2).toMatchObject({ exitCode: 0, childInstalled: true });
    expect(r2.keepalivesReceived).toBeGreaterThanOrEqual(2);
    const counters = rspEvents.find((e) => e.type === 'counters');
    expect(counters).toMatchObject({ counters: { encaps: 2, decaps: 2 } });
  });

  it('refuses to start with encapsulation off; stop() before the IKE SA is up ends the run at once with exit 1', async () => {
    expect(
      () => new LivePeer({ role: 'responder', peer: { ...config('rsp', { ike: 15540, natt: 15541 }), encap: 'off' }, rng: new SeededRng(1), onEvent: () => {} }),
    ).toThrow(RAW_ESP_UNSUPPORTED);
    const events: LiveEvent[] = [];
    // An initiator whose responder never answers: stop() deletes the half-open SA at once.
    const ini = new LivePeer({
      role: 'initiator',
      peer: { ...config('ini', { ike: 15542, natt: 15543 }), remote: '127.0.0.4:15542' },
      rng: new SeededRng(2),
      shutdownWaitUs: 5_000_000,
      onEvent: (e) => events.push(e),
    });
    peers.push(ini);
    await ini.start();
    const t0 = Date.now();
    ini.stop('first');
    const r = await ini.done;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toMatchObject({ exitCode: 1, established: false, message: 'no IKE SA was established' });
    const at = (e: LiveEvent): Micros => e.at;
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['listening', 'message-sent', 'shutdown', 'result']));
    expect(at(events[events.length - 1]!)).toBeGreaterThanOrEqual(at(events[0]!));
  });
});
