/**
 * `natt-sim analyze`, run in-process through main(argv, io): the text and JSON
 * reports, several captures, keys, and every kind of bad input (one line on stderr
 * naming the file, exit 2, no stack trace; a cut capture still gets its report).
 * One spawned run of bin/natt-sim.js checks the real launcher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.ts';
import type { AnalysisReport } from '../../src/analysis/report.ts';

/** Runs the CLI in-process, collecting what it prints. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const ROOT = resolve(import.meta.dirname, '../..');
const CAPS = resolve(ROOT, '../shared/captures');
const LAB = join(CAPS, 'strongswan-lab');
const A_OUT = join(LAB, 'a-nat-keepalive/outside.pcap');
const A_IN = join(LAB, 'a-nat-keepalive/inside.pcap');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-analyze-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('natt-sim analyze: reports', () => {
  it('text: the SA block with endpoints, NAT verdict and its hashes, float, exchanges, keepalives; the ESP table; findings', async () => {
    const r = await runCli(['analyze', A_OUT]);
    expect([r.code, r.err]).toEqual([0, '']);
    const out = r.out;
    expect(out).toContain('IKE SA #0  IKEv2  8391f754f1670e3d / 5bc1c325f6ce53e8');
    expect(out).toContain('  initiator   198.51.100.1:29396   (500: 198.51.100.1:29396; 4500: 198.51.100.1:26329)');
    expect(out).toContain('  NAT         initiator behind NAT; responder not behind NAT (NAT-D SHA1)');
    expect(out).toMatch(/frame 1 IKE_SA_INIT request: initiator SOURCE 95c3541c150ee9de… → unverified {2}expected [0-9a-f]{16}… = SHA1\(8391f754f1670e3d \| 0000000000000000 \| 198\.51\.100\.1:29396\)/);
    expect(out).toContain('  ports       floated to 4500 at IKE_AUTH request (frame 3); marker ok 4, missing 0, on 500 0');
    expect(out).toContain('  exchanges   IKE_SA_INIT 1/1, IKE_AUTH 1/1, INFORMATIONAL 1/1  (requests/responses)');
    expect(out).toMatch(/ {2}keepalives {2}initiator 198\.51\.100\.1:26329 → 198\.51\.100\.2:4500: 5, mean 5\.002 s, max 5\.003 s/);
    expect(out).toMatch(/\n {2}33edbb96 +0 +udp +198\.51\.100\.1:26329 → 198\.51\.100\.2:4500 +10 +1-10 +0 +0 +#0 i→r\n/);
    expect(out).toContain('  info    NAT_DETECTED: IKEv2 SA 8391f754f1670e3d: NAT-D shows the initiator (198.51.100.1:29396) behind NAT. (frames 1, 2)');
  });

  it('--json: the documented report', async () => {
    const r = await runCli(['analyze', '--json', A_OUT]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as AnalysisReport;
    expect(rep.schemaVersion).toBe(1);
    expect(rep.captures).toEqual([
      expect.objectContaining({ index: 0, file: A_OUT, format: 'pcap', linktypes: [1], packets: 35, firstTime: '2026-11-25T03:00:14.463450Z', durationS: 35.149690 }),
    ]);
    expect(rep.ikeSas[0]).toMatchObject({ spiI: '8391f754f1670e3d', floatedTo4500: true, firstMessageOn4500: 'IKE_AUTH', natDetection: { initiatorBehindNat: true } });
    expect(rep.options).toEqual({ natTimeoutS: 30, keys: null });
  });

  it('two captures of one NAT, in order: one SA, inside and outside endpoints', async () => {
    const r = await runCli(['analyze', '--json', A_IN, A_OUT]);
    const rep = JSON.parse(r.out) as AnalysisReport;
    expect(rep.captures.map((c) => c.file)).toEqual([A_IN, A_OUT]);
    expect(rep.ikeSas).toHaveLength(1);
    expect(rep.ikeSas[0]!.initiatorEndpoints).toEqual({ on500: ['10.77.0.2:500', '198.51.100.1:29396'], on4500: ['10.77.0.2:4500', '198.51.100.1:26329'] });
  });

  it('--keys with a Wireshark profile directory, or with one UAT file', async () => {
    const a = JSON.parse((await runCli(['analyze', '--json', A_OUT, '--keys', join(LAB, 'a-nat-keepalive/wireshark')])).out) as AnalysisReport;
    expect(a.options.keys).toEqual({ ikeSas: 1, espSas: 2 });
    expect(a.ikeSas[0]!.ids).toEqual({ initiator: 'ini.lab', responder: 'rsp.lab' });
    expect(a.espSas.map((e) => e.decrypted?.ok)).toEqual([10, 10]);
    const b = await runCli(['analyze', join(CAPS, 'tcpdump/espudp1.pcap'), '--keys', join(CAPS, 'keys/openswan-west-natt-01.esp_sa')]);
    expect(b.code).toBe(0);
    expect(b.out).toContain('8 ok: ICMP echo request 192.0.2.1 → 192.0.1.1 ×8');
  });

  it('--nat-timeout moves the keepalive check', async () => {
    const r = await runCli(['analyze', '--json', '--nat-timeout', '4s', A_OUT]);
    const rep = JSON.parse(r.out) as AnalysisReport;
    expect(rep.options.natTimeoutS).toBe(4);
    expect(rep.findings.find((f) => f.code === 'KEEPALIVE_INTERVAL_TOO_LONG')).toMatchObject({ severity: 'warning', capture: 0, frames: [33], ikeSa: 0 });
  });
});

describe('natt-sim analyze: bad input is one line on stderr and exit 2', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing file', () => join(dir, 'nope.pcap'), /^natt-sim: .*nope\.pcap: no such file\n$/],
    ['directory', () => (mkdirSync(join(dir, 'd.pcap'), { recursive: true }), join(dir, 'd.pcap')), /^natt-sim: .*d\.pcap: is a directory, not a capture file\n$/],
    ['empty file', () => file('empty.pcap', ''), /^natt-sim: .*empty\.pcap: pcap: magic at byte 0: empty file\n$/],
    ['not a capture', () => file('text.pcap', 'hello, this is not a capture file\n'), /^natt-sim: .*text\.pcap: pcap: magic at byte 0: not a pcap or pcapng file: magic 0x68656c6c\n$/],
    ['truncated header', () => file('hdr.pcap', readFileSync(A_OUT).subarray(0, 10)), /^natt-sim: .*hdr\.pcap: pcap: thiszone at byte 8: truncated: the file ends 2 of 4 bytes into this field\n$/],
  ];
  it.each(cases)('%s', async (_name, make, line) => {
    const r = await runCli(['analyze', make()]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(line);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a capture cut mid-record: the report of what was read, captures[].truncated, a finding, then the error line', async () => {
    const whole = readFileSync(A_OUT);
    const cut = file('cut.pcap', whole.subarray(0, 3000));
    const r = await runCli(['analyze', '--json', cut]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^natt-sim: .*cut\.pcap: pcap: packet_data at byte \d+: truncated: the file ends \d+ of \d+ bytes into this field\n$/);
    const rep = JSON.parse(r.out) as AnalysisReport;
    const c = rep.captures[0]!;
    expect(c.packets).toBeGreaterThan(3);
    expect(c.truncated!.offset).toBeLessThan(3000);
    expect(c.truncated!.reason).toMatch(/^truncated: the file ends/);
    expect(rep.findings[0]).toMatchObject({ severity: 'error', code: 'CAPTURE_TRUNCATED', capture: 0 });
    // What was read is still analysed: the IKE_SA_INIT exchange and the float.
    expect(rep.ikeSas[0]!.natDetection.initiatorBehindNat).toBe(true);
    const text = await runCli(['analyze', cut]);
    expect(text.out).toContain('TRUNCATED at byte');
    expect(text.code).toBe(2);
  });

  it('a malformed keys file: file, line and field', async () => {
    const bad = file('bad.ikev2_decryption_table', '# header\n8391f754f1670e3d,5bc1c325f6ce53e8,zz,00,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"\n');
    const r = await runCli(['analyze', A_OUT, '--keys', bad]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toBe(`natt-sim: ${bad}:2: field SK_ei: not an even number of hex digits: "zz"\n`);
    const short = file('esp_sa', '"IPv4","*","*","0x33edbb96","AES-GCM with 16 octet ICV [RFC4106]","0x2520","NULL",""\n');
    const s = await runCli(['analyze', A_OUT, '--keys', short]);
    expect(s.err).toBe(`natt-sim: ${short}:1: field encryption key: AES-GCM with 16 octet ICV [RFC4106] needs 20 or 28 or 36 bytes, got 2\n`);
    const empty = join(dir, 'nokeys');
    mkdirSync(empty, { recursive: true });
    expect((await runCli(['analyze', A_OUT, '--keys', empty])).err).toBe(`natt-sim: ${empty}: holds neither ikev2_decryption_table nor esp_sa (--keys)\n`);
  });

  it('a bad --nat-timeout', async () => {
    const r = await runCli(['analyze', A_OUT, '--nat-timeout', 'soon']);
    expect([r.code, r.err]).toEqual([2, 'natt-sim: --nat-timeout: "soon" is not a duration (e.g. 30s, 2m, 500ms)\n']);
  });
});

describe('bin/natt-sim.js', () => {
  it('runs analyze as a real process', () => {
    const p = spawnSync(process.execPath, [join(ROOT, 'bin/natt-sim.js'), 'analyze', '--json', join(LAB, 'b-nonat/outside.pcap')], { encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(0);
    const rep = JSON.parse(p.stdout) as AnalysisReport;
    expect(rep.espSas.map((e) => e.encapsulation)).toEqual(['none', 'none']);
    expect(rep.ikeSas[0]!.natDetection).toMatchObject({ initiatorBehindNat: false, responderBehindNat: false });
  });
});
