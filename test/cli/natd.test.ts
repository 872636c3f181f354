/**
 * `natt-sim natd`: the NAT-D hash worksheet.
 *
 * IKEv2 vectors: /work/shared/captures/strongswan-lab/a-nat-keepalive/manifest.json,
 * which lists each NAT-D hash of the run with the endpoint it covers, and the
 * `natd_chunk` / `natd_hash` pairs strongSwan 6.0.6 logged while computing them.
 * IKEv1 vectors: tcpdump's ISAKMP_sa_setup.pcap frames 3 and 4 (NAT-D payloads,
 * draft numbering 15), read from the capture with the project's reader.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { readCapture } from '../../src/pcap/reader.ts';
import { Dissector } from '../../src/analysis/dissect.ts';
import { toHex } from '../../src/core/bytes.ts';
import { formatIp, ipFromBytes } from '../../src/core/addr.ts';
import { main } from '../../src/cli/main.ts';

/** Runs the CLI in-process and collects what it prints. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (x) => void (out += x), err: (x) => void (err += x) });
  return { code, out, err };
}

const CAPS = resolve(import.meta.dirname, '../../../shared/captures');
const MANIFEST = JSON.parse(readFileSync(resolve(CAPS, 'strongswan-lab/a-nat-keepalive/manifest.json'), 'utf8')) as {
  ike_sas: { spi_i: string; spi_r: string }[];
  nat_detection_payloads: { capture: string; notify: string; hash: string; hash_computed_over: string; formula: string }[];
  natd_from_charon_log: Record<'ini' | 'rsp', string[]>;
};

interface Worksheet {
  version: number;
  algorithm: string;
  formula: string;
  endpoint: string;
  fields: { name: string; hex: string; value: string }[];
  input: string;
  hash: string;
  command: string;
}

async function natdJson(args: string[]): Promise<Worksheet> {
  const r = await runCli(['natd', ...args, '--json']);
  expect([r.code, r.err]).toEqual([0, '']);
  return JSON.parse(r.out) as Worksheet;
}

/** Runs the printed pipeline in a shell: printf | xxd -r -p | sha1sum. */
function shell(command: string): string {
  const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.split(/\s/)[0]!;
}

describe('natt-sim natd: IKEv2 (RFC 7296 §2.23)', () => {
  const spiI = MANIFEST.ike_sas[0]!.spi_i;

  it('reproduces every NAT-D hash of the a-nat-keepalive run, from the endpoint the manifest says it covers', async () => {
    expect(MANIFEST.nat_detection_payloads).toHaveLength(8);
    for (const p of MANIFEST.nat_detection_payloads) {
      const spiR = /SPIr\(([0-9a-f]{16})\)/.exec(p.formula)![1]!;
      const w = await natdJson(['--spi-i', spiI, '--spi-r', spiR, '--addr', p.hash_computed_over]);
      expect(w.hash, `${p.capture} ${p.notify} over ${p.hash_computed_over}`).toBe(p.hash);
      expect(w.endpoint).toBe(p.hash_computed_over);
    }
  });

  it("lays the input out exactly as strongSwan's natd_chunk, for every chunk/hash pair charon logged", async () => {
    const pairs: [string, string][] = [];
    for (const side of ['ini', 'rsp'] as const) {
      const lines = MANIFEST.natd_from_charon_log[side];
      lines.forEach((l, i) => {
        const chunk = / natd_chunk ([0-9a-f]+)$/.exec(l);
        const hash = / natd_hash ([0-9a-f]+)$/.exec(lines[i + 1] ?? '');
        if (chunk && hash) pairs.push([chunk[1]!, hash[1]!]);
      });
    }
    expect(pairs).toHaveLength(8);
    for (const [chunk, hash] of pairs) {
      const ip = formatIp(ipFromBytes(Buffer.from(chunk.slice(32, 40), 'hex')));
      const port = parseInt(chunk.slice(40, 44), 16);
      const w = await natdJson(['--spi-i', chunk.slice(0, 16), '--spi-r', chunk.slice(16, 32), '--addr', `${ip}:${port}`]);
      expect([w.input, w.hash]).toEqual([chunk, hash]);
      expect(w.fields.map((f) => f.hex).join('')).toBe(chunk);
    }
  });

  it('prints the labelled worksheet, and the printed pipeline computes the same hash', async () => {
    const r = await runCli(['natd', '--spi-i', '8391f754f1670e3d', '--spi-r', '0000000000000000', '--addr', '10.77.0.2:500']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toBe(
      [
        'NAT-D hash (IKEv2, RFC 7296 §2.23) = SHA-1(SPIi | SPIr | IP | port)',
        'input  8391f754f1670e3d | 0000000000000000 | 0a4d0002  | 01f4   (22 bytes)',
        '       SPIi               SPIr               IP          port',
        '       8391f754f1670e3d   0000000000000000   10.77.0.2   500',
        'hash   95c3541c150ee9de466e89125e3493cf13429eb0',
        "check  printf '8391f754f1670e3d00000000000000000a4d000201f4' | xxd -r -p | sha1sum",
        '',
      ].join('\n'),
    );
    const check = /^check {2}(.*)$/m.exec(r.out)![1]!;
    expect(shell(check)).toBe('95c3541c150ee9de466e89125e3493cf13429eb0');
  });

  it('accepts 0 and a 0x prefix for SPIs, and IPv6 endpoints (16-byte address, 34-byte input)', async () => {
    const a = await natdJson(['--spi-i', '0x8391F754F1670E3D', '--spi-r', '0', '--addr', '198.51.100.2:500']);
    expect(a.hash).toBe('24291d0d5f31435320163b23cdd24ba8296c1e47');
    const v6 = await natdJson(['--spi-i', '8391f754f1670e3d', '--spi-r', '5bc1c325f6ce53e8', '--addr', '[2001:db8::1]:4500']);
    expect(v6.fields).toEqual([
      { name: 'SPIi', hex: '8391f754f1670e3d', value: '8391f754f1670e3d' },
      { name: 'SPIr', hex: '5bc1c325f6ce53e8', value: '5bc1c325f6ce53e8' },
      { name: 'IP', hex: '20010db8000000000000000000000001', value: '2001:db8::1' },
      { name: 'port', hex: '1194', value: '4500' },
    ]);
    expect(v6.input).toHaveLength(68);
    expect(v6.hash).toBe(createHash('sha1').update(Buffer.from(v6.input, 'hex')).digest('hex'));
    expect(shell(v6.command)).toBe(v6.hash);
  });
});

/** NAT-D payloads of ISAKMP_sa_setup.pcap, with the cookies and addresses of their frames. */
async function isakmpNatd(): Promise<{ frame: number; cky: [string, string]; src: string; dst: string; hashes: string[] }[]> {
  const d = new Dissector();
  const out: { frame: number; cky: [string, string]; src: string; dst: string; hashes: string[] }[] = [];
  for await (const e of readCapture(createReadStream(resolve(CAPS, 'tcpdump/ISAKMP_sa_setup.pcap')) as AsyncIterable<Uint8Array>)) {
    if (e.kind !== 'packet') continue;
    const x = d.dissect(e);
    const h = x.ikev1?.header;
    if (!h || !x.src || !x.dst || !x.udp) continue;
    const hashes = x.ikev1!.payloads.flatMap((p) => (p.kind === 'nat-d' ? [toHex(p.data)] : []));
    if (hashes.length) out.push({ frame: x.index, cky: [toHex(h.initiatorCookie), toHex(h.responderCookie)], src: `${formatIp(x.src)}:${x.udp.srcPort}`, dst: `${formatIp(x.dst)}:${x.udp.dstPort}`, hashes });
  }
  return out;
}

describe('natt-sim natd --ikev1 (RFC 3947 §3.2)', () => {
  it("reproduces the NAT-D payloads of ISAKMP_sa_setup.pcap frames 3 and 4 (first = the receiver's address, second = the sender's)", async () => {
    const msgs = await isakmpNatd();
    expect(msgs.map((m) => [m.frame, m.hashes])).toEqual([
      [3, ['d5664a6fcbc7d769f693d4d83ce125b1415827ae', '6db4442c1af0b63d93334e3a0cb5ac19f804eca4']],
      [4, ['6db4442c1af0b63d93334e3a0cb5ac19f804eca4', 'd5664a6fcbc7d769f693d4d83ce125b1415827ae']],
    ]);
    for (const m of msgs) {
      const [ckyI, ckyR] = m.cky;
      const dst = await natdJson(['--ikev1', '--hash', 'sha1', '--spi-i', ckyI, '--spi-r', ckyR, '--addr', m.dst]);
      const src = await natdJson(['--ikev1', '--hash', 'sha1', '--spi-i', ckyI, '--spi-r', ckyR, '--addr', m.src]);
      expect([dst.hash, src.hash]).toEqual(m.hashes);
      expect(dst.formula).toBe('SHA-1(CKY-I | CKY-R | IP | port)');
      expect(dst.fields.map((f) => f.name)).toEqual(['CKY-I', 'CKY-R', 'IP', 'port']);
    }
  });

  it('hashes with MD5, SHA-256, SHA-384 and SHA-512 for other phase 1 hashes; the pipeline agrees', async () => {
    const input = 'cf02326f14a95b9318a109f89219e8df0a00000201f4';
    for (const [opt, node, len] of [
      ['md5', 'md5', 32],
      ['sha1', 'sha1', 40],
      ['sha256', 'sha256', 64],
      ['sha384', 'sha384', 96],
      ['sha512', 'sha512', 128],
    ] as const) {
      const w = await natdJson(['--ikev1', '--hash', opt, '--spi-i', 'cf02326f14a95b93', '--spi-r', '18a109f89219e8df', '--addr', '10.0.0.2:500']);
      expect(w.input).toBe(input);
      expect(w.hash).toHaveLength(len);
      expect(w.hash).toBe(createHash(node).update(Buffer.from(input, 'hex')).digest('hex'));
      expect(shell(w.command)).toBe(w.hash);
    }
  });
});

describe('natt-sim natd: bad values are one line on stderr and exit 2', () => {
  const base = ['--spi-i', '8391f754f1670e3d', '--spi-r', '0', '--addr', '10.77.0.2:500'];
  const cases: [string, string[], RegExp][] = [
    ['SPIi not hex', ['--spi-i', 'xyz', '--spi-r', '0', '--addr', '10.77.0.2:500'], /^natt-sim: --spi-i: "xyz" is not an 8-byte SPI/],
    ['SPIr too short', ['--spi-i', '8391f754f1670e3d', '--spi-r', '5bc1c325', '--addr', '10.77.0.2:500'], /^natt-sim: --spi-r: "5bc1c325" is not an 8-byte SPI/],
    ['no port', ['--spi-i', '8391f754f1670e3d', '--spi-r', '0', '--addr', '10.77.0.2'], /^natt-sim: --addr: "10\.77\.0\.2" is not IP:PORT/],
    ['port out of range', ['--spi-i', '8391f754f1670e3d', '--spi-r', '0', '--addr', '10.77.0.2:70000'], /^natt-sim: --addr: "10\.77\.0\.2:70000" is not IP:PORT/],
    ['bad address', ['--spi-i', '8391f754f1670e3d', '--spi-r', '0', '--addr', '10.77.0.256:500'], /^natt-sim: --addr: /],
    ['unknown hash', [...base, '--ikev1', '--hash', 'sha3'], /^natt-sim: --hash: "sha3" is not one of md5, sha1, sha256, sha384, sha512$/],
    ['MD5 for IKEv2', [...base, '--hash', 'md5'], /^natt-sim: --hash md5: IKEv2 NAT-D is always SHA-1 \(RFC 7296 §2\.23\)/],
    ['missing --addr', ['--spi-i', '8391f754f1670e3d', '--spi-r', '0'], /^natt-sim: Missing required argument: addr$/],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const r = await runCli(['natd', ...args]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.endsWith('\n')).toBe(true);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err.trimEnd()).toMatch(re);
    });
  }
});
