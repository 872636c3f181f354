/**
 * Two `natt-sim peer` processes on loopback (127.0.0.1 initiator, 127.0.0.2 responder,
 * high ports): IKE, the float, the userspace ESP-in-UDP tunnel with pings, a DELETE
 * on SIGINT, key files that let tshark decrypt the captures, and the refusal of raw ESP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { PeerProcess } from './peer-process.ts';

const INI = '127.0.0.1';
const RSP = '127.0.0.2';
const PSK = 'live-test-psk-0123456789';
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

function common(ikePort: number, nattPort: number): string[] {
  return ['--psk', PSK, '--ike-port', String(ikePort), '--natt-port', String(nattPort), '--retransmit-timeout', '500ms', '--retransmit-tries', '2'];
}

function responderArgs(ikePort: number, nattPort: number, extra: string[] = []): string[] {
  return ['--role', 'responder', '--local', RSP, '--id', 'rsp.test', '--remote-id', 'ini.test', '--local-ts', '10.77.20.0/24', '--remote-ts', '10.77.10.0/24', ...common(ikePort, nattPort), ...extra];
}

function initiatorArgs(ikePort: number, nattPort: number, extra: string[] = []): string[] {
  return ['--role', 'initiator', '--local', INI, '--remote', RSP, '--id', 'ini.test', '--remote-id', 'rsp.test', '--local-ts', '10.77.10.0/24', '--remote-ts', '10.77.20.0/24', ...common(ikePort, nattPort), ...extra];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-live-'));
});
afterAll(async () => {
  const left = [...PeerProcess.all];
  PeerProcess.killAll();
  await Promise.all(left.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
});

describe('natt-sim peer: initiator ↔ responder over loopback', () => {
  const IKE = 15510;
  const NATT = 15511;
  let rsp: PeerProcess;
  let ini: PeerProcess;
  let iniCode: number | null;

  beforeAll(async () => {
    rsp = new PeerProcess(
      responderArgs(IKE, NATT, ['--encap', 'auto', '--keys', join(dir, 'rsp-keys'), '--pcap', join(dir, 'rsp.pcap')]),
    );
    await rsp.waitFor(/^responder listening on 127\.0\.0\.2:15510 \(IKE\) and 127\.0\.0\.2:15511 \(NAT-T\)$/);
  });

  it('establishes IKE and CHILD SAs with forced encapsulation, answers pings, and sends a DELETE on SIGINT', async () => {
    ini = new PeerProcess(
      initiatorArgs(IKE, NATT, [
        '--json',
        '--ping', '10.77.20.1', '--count', '3', '--interval', '100ms',
        '--duration', '30s',
        '--keys', join(dir, 'ini-keys'),
        '--pcap', join(dir, 'ini.pcap'),
      ]),
    );
    await ini.waitFor(/"type":"ping-summary"/);
    ini.signal('SIGINT');
    iniCode = await ini.exited;
    expect(iniCode).toBe(0);
    expect(ini.stderr).toBe('');

    const ev = ini.events();
    const of = (t: string) => ev.filter((e) => e.type === t);
    // Encapsulation forced against a genuine responder without NAT: both hashes match, so natFake.
    expect(of('nat-detected')).toMatchObject([{ natHere: false, natThere: false, natFake: true }]);
    expect(of('ports-floated')).toMatchObject([{ to: { local: '127.0.0.1:15511', remote: '127.0.0.2:15511' } }]);
    expect(of('sa-established')).toMatchObject([
      { local: '127.0.0.1:15511', remote: '127.0.0.2:15511', suite: 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519', remoteId: 'rsp.test' },
    ]);
    const child = of('child-installed');
    expect(child).toHaveLength(1);
    expect(child[0]).toMatchObject({ encap: { local: '127.0.0.1:15511', remote: '127.0.0.2:15511' }, localTs: ['10.77.10.0/24'], remoteTs: ['10.77.20.0/24'] });
    expect(child[0]!.spiIn).toMatch(/^0x[0-9a-f]{8}$/);
    // Key material goes to --keys, never to stdout.
    expect(of('child-established')).toHaveLength(1);
    for (const k of ['encKeyIn', 'encKeyOut', 'integKeyIn', 'keyLog']) expect(of('child-established')[0]).not.toHaveProperty(k);
    expect(of('sa-established')[0]).not.toHaveProperty('ikev2DecryptionRow');

    const replies = of('ping-reply');
    expect(replies.map((r) => r.seq)).toEqual([1, 2, 3]);
    for (const r of replies) {
      expect(r).toMatchObject({ from: '10.77.20.1', bytes: 64, duplicate: false });
      expect(r.rttUs as number).toBeGreaterThan(0);
      expect(r.rttUs as number).toBeLessThan(1_000_000);
    }
    expect(of('ping-summary')).toMatchObject([{ dst: '10.77.20.1', transmitted: 3, received: 3 }]);

    // SIGINT: a DELETE went out and was answered, then the counters and the result.
    expect(of('shutdown')).toMatchObject([{ reason: 'SIGINT', sas: 1 }]);
    const del = of('message-sent').find((m) => m.exchangeName === 'INFORMATIONAL' && m.isResponse === false);
    expect(del).toMatchObject({ payloads: ['D'], src: '127.0.0.1:15511', dst: '127.0.0.2:15511' });
    expect(of('sa-deleted')).toMatchObject([{ reason: 'local' }]);
    const counters = of('counters');
    expect(counters).toHaveLength(1);
    expect(counters[0]).toMatchObject({ counters: { encaps: 3, decaps: 3, verify: 3, recvErrors: 0, sendErrors: 0 } });
    expect(counters[0]!.text).toContain('in use settings ={Tunnel UDP-Encaps, }');
    expect(of('result')).toMatchObject([{ exitCode: 0, established: true, childInstalled: true }]);
  });

  it('fails with exit 1 when the pre-shared key is wrong', async () => {
    // In-process this time: the same command through main().
    const bad = await runCli(['peer', ...initiatorArgs(IKE, NATT).map((a) => (a === PSK ? 'not-the-psk' : a)), '--ping', '10.77.20.1']);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe('');
    expect(bad.out).toMatch(/^authentication failed \(the peer rejected us\)/m);
    expect(bad.out).toMatch(/^failed: authentication failed/m);
    expect(bad.out).not.toMatch(/IKE_SA established/);
  });

  it('the responder logged the tunnel and the DELETE, and shuts down on SIGTERM with counters', async () => {
    await rsp.waitFor(/^IKE_SA deleted by the peer \(DELETE received\)$/);
    rsp.signal('SIGTERM');
    expect(await rsp.exited).toBe(0);
    const t = rsp.text;
    // The initiator forced encapsulation with a fake NAT-D source hash: the responder sees natThere.
    expect(t).toMatch(/^NAT detected: natThere \(the peer is behind NAT, or fakes its NAT-D hash\) — expecting the peer on 15511$/m);
    expect(t).toMatch(/^IKE_SA established 127\.0\.0\.2:15511 <-> 127\.0\.0\.1:15511 IKE:AES_GCM_16_128\/PRF_HMAC_SHA2_256\/CURVE_25519$/m);
    expect(t).toMatch(/^CHILD_SA net installed: spi-in 0x[0-9a-f]{8}, spi-out 0x[0-9a-f]{8}, UDP-encapsulated 127\.0\.0\.2:15511 <-> 127\.0\.0\.1:15511/m);
    for (const seq of [1, 2, 3]) expect(t).toContain(`echo reply to 10.77.10.1: icmp_seq=${seq} (64 bytes)`);
    expect(t).toMatch(/^authentication failed \(we could not verify the peer\)/m);
    expect(t).toMatch(/^shutting down \(SIGTERM\)$/m);
    expect(t).toContain('#pkts encaps: 3, #pkts encrypt: 3, #pkts digest: 3');
    expect(t).toContain('#pkts decaps: 3, #pkts decrypt: 3, #pkts verify: 3');
    expect(t).toMatch(/^ok: CHILD_SA installed$/m);
  });

  it.skipIf(!hasTshark)('--keys lets tshark decrypt the --pcap captures of both peers', () => {
    for (const side of ['ini', 'rsp'] as const) {
      const keys = join(dir, `${side}-keys`);
      expect(readFileSync(join(keys, 'preferences'), 'utf8')).toContain('esp.enable_encryption_decode: TRUE');
      expect(readFileSync(join(keys, 'ikev2_decryption_table'), 'utf8').trim().split('\n')).toHaveLength(1);
      expect(readFileSync(join(keys, 'esp_sa'), 'utf8').trim().split('\n')).toHaveLength(2);
      const tshark = (extra: string[], fields: string[]) => {
        const r = spawnSync(
          'tshark',
          ['-n', '-r', join(dir, `${side}.pcap`), '-d', `udp.port==${IKE},udpencap`, '-d', `udp.port==${NATT},udpencap`, ...extra,
            '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])],
          { encoding: 'utf8', env: { ...process.env, WIRESHARK_CONFIG_DIR: keys } },
        );
        expect(r.status).toBe(0);
        return r.stdout.trim().split('\n').map((l) => l.split('|'));
      };
      const rows = tshark([], ['isakmp.exchangetype', 'esp.icv_good', 'icmp.type']);
      // Every ESP packet verifies and carries the pings: 3 echo requests, 3 replies.
      const esp = rows.filter((x) => x[1] !== '');
      expect(esp.map((x) => x[1])).toEqual(['1', '1', '1', '1', '1', '1']);
      expect(esp.map((x) => x[2])).toEqual(['8', '0', '8', '0', '8', '0']);
      // IKE_AUTH (35) and the INFORMATIONAL with the DELETE (37) are decrypted.
      const decrypted = tshark(['-Y', 'isakmp.enc.decrypted'], ['isakmp.exchangetype']).map((x) => x[0]);
      expect(decrypted).toEqual(['35', '35', '37', '37']);
    }
  });
});

describe('natt-sim peer: raw ESP is refused in live mode', () => {
  it('with --encap auto on both sides and no NAT, the CHILD_SA is refused, deleted, and the run fails', async () => {
    const IKE = 15520;
    const NATT = 15521;
    const rsp = new PeerProcess(responderArgs(IKE, NATT, ['--encap', 'auto', '--duration', '20s']));
    await rsp.waitFor(/listening/);
    const ini = await runCli(['peer', ...initiatorArgs(IKE, NATT, ['--encap', 'auto'])]);
    expect(ini.code).toBe(1);
    expect(ini.out).toMatch(/^no NAT detected — ESP would not be UDP-encapsulated$/m);
    expect(ini.out).toContain('CHILD_SA refused: raw ESP (protocol 50) is not supported in live mode; use --encap force or a NAT');
    expect(ini.out).toMatch(/^failed: raw ESP \(protocol 50\) is not supported in live mode/m);
    await rsp.waitFor(/^CHILD_SA refused: raw ESP/);
    rsp.signal('SIGTERM');
    expect(await rsp.exited).toBe(1);
    expect(existsSync(dir)).toBe(true);
  });
});

describe('natt-sim peer: cleanup', () => {
  it('left no peer process running', () => {
    expect([...PeerProcess.all].map((p) => p.pid)).toEqual([]);
  });
});
