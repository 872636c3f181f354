/**
 * Our streaming pcap reader against pcap-parser 0.2.1, on this machine.
 * Figures quoted in docs/decisions/0001-pcap-reader.md.
 *
 *   npx tsx bench/pcap-reader-vs-pcap-parser.ts [sizeMB=40] [runs=11]
 *
 * Generates a classic pcap of ~sizeMB in os.tmpdir() with our PcapWriter
 * (seeded packet sizes 60..1514 bytes), then measures records/s and MB/s of
 * both readers over fs.createReadStream (64 KiB chunks), and what each does
 * with a nanosecond file, a pcapng file, a truncated tail and one corrupt
 * incl_len. pcap-parser's corrupt-length run happens in a child process,
 * killed after 120 s, so its time and peak RSS are its own.
 */
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import pcapParser from 'pcap-parser';
import { SeededRng } from '../src/core/rng.ts';
import { DecodeError } from '../src/core/errors.ts';
import { PcapWriter, PcapngWriter, readCapture, readCaptureSync, readPacketsSync, type PacketRecord } from '../src/pcap/index.ts';

const MB = 1024 * 1024;

interface RunResult {
  records: number;
  ms: number;
  error?: string;
  /** For pcap-parser: packetHeader events (includes a header whose data never came). */
  headers?: number;
}

async function ours(path: string): Promise<RunResult> {
  const t0 = performance.now();
  let records = 0;
  try {
    for await (const e of readCapture(createReadStream(path))) if (e.kind === 'packet') records++;
  } catch (e) {
    return { records, ms: performance.now() - t0, error: e instanceof DecodeError ? e.message : String(e) };
  }
  return { records, ms: performance.now() - t0 };
}

function theirs(path: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const parser = pcapParser.parse(path);
    let records = 0;
    let headers = 0;
    let error: string | undefined;
    let done = false;
    parser.on('packetHeader', () => headers++);
    parser.on('packet', () => records++);
    parser.on('error', (e) => (error = e.message));
    parser.on('end', () => {
      if (done) return;
      done = true;
      resolve({ records, headers, ms: performance.now() - t0, error });
    });
  });
}

async function generate(path: string, sizeMB: number): Promise<{ records: number; bytes: number }> {
  const rng = new SeededRng(0x5eed);
  const w = new PcapWriter({ linktype: 1, snaplen: 65535 });
  const out = createWriteStream(path);
  let bytes = 0;
  let records = 0;
  const write = async (b: Uint8Array) => {
    bytes += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  await write(w.header());
  const payload = rng.bytes(1514);
  let t = 1_700_000_000_000_000;
  while (bytes < sizeMB * MB) {
    const len = rng.int(60, 1514);
    t += rng.int(1, 5000);
    await write(w.packet({ timestampUs: t, data: payload.subarray(0, len) }));
    records++;
  }
  out.end();
  await once(out, 'close');
  return { records, bytes };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Child mode: run one reader on one file, report time, records, error and peak RSS. */
async function child(which: 'ours' | 'theirs', path: string): Promise<void> {
  const r = which === 'ours' ? await ours(path) : await theirs(path);
  process.send!({ ...r, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  process.exit(0);
}

function inChild(which: 'ours' | 'theirs', path: string, capMs: number): Promise<(RunResult & { maxRssMB: number }) | { timedOut: true; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = fork(new URL(import.meta.url).pathname, ['--child', which, path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      resolve({ timedOut: true, ms: performance.now() - t0 });
    }, capMs);
    c.on('message', (m) => {
      clearTimeout(timer);
      resolve(m as RunResult & { maxRssMB: number });
    });
  });
}

async function main(): Promise<void> {
  const sizeMB = Number(process.argv[2] ?? 40);
  const runs = Number(process.argv[3] ?? 11);
  const dir = mkdtempSync(join(tmpdir(), 'natt-sim-bench-'));
  try {
    console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}`);
    const file = join(dir, 'gen.pcap');
    const gen = await generate(file, sizeMB);
    const fileMB = statSync(file).size / MB;
    console.log(`generated ${file}: ${gen.records} records, ${fileMB.toFixed(1)} MiB`);

    // Throughput: one warm-up each, then alternate runs.
    await ours(file);
    await theirs(file);
    const oursMs: number[] = [];
    const theirsMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = await ours(file);
      const b = await theirs(file);
      if (a.records !== gen.records || b.records !== gen.records) throw new Error(`record count mismatch: ${a.records} / ${b.records}`);
      oursMs.push(a.ms);
      theirsMs.push(b.ms);
    }
    const bytes = readFileSync(file);
    const t0 = performance.now();
    let n = 0;
    for (const e of readCaptureSync(bytes)) if (e.kind === 'packet') n++;
    const syncMs = performance.now() - t0;
    const line = (name: string, ms: number, recs: number) =>
      `${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${((recs / ms) * 1000 / 1e6).toFixed(2).padStart(6)} M records/s  ${((fileMB / ms) * 1000).toFixed(0).padStart(5)} MiB/s`;
    console.log(`\nthroughput, median of ${runs} (fs.createReadStream, 64 KiB chunks):`);
    console.log(line('natt-sim readCapture (streaming)', median(oursMs), gen.records));
    console.log(line('pcap-parser 0.2.1', median(theirsMs), gen.records));
    console.log(line('natt-sim readCaptureSync (in memory)', syncMs, n));
    console.log(`  runs ours:   ${oursMs.map((x) => x.toFixed(0)).join(' ')} ms`);
    console.log(`  runs theirs: ${theirsMs.map((x) => x.toFixed(0)).join(' ')} ms`);

    console.log('\nbehaviour:');
    const packets: PacketRecord[] = [];
    for (const p of readPacketsSync(bytes)) if (packets.push(p) >= 200) break;

    // Nanosecond file: the first records rewritten with magic a1b23c4d.
    const nsw = new PcapWriter({ linktype: 1, snaplen: 65535, precision: 'ns' });
    const nsFile = join(dir, 'ns.pcap');
    writeFileSync(nsFile, Buffer.concat([nsw.header(), ...packets.map((p) => nsw.packet({ ...p, timestampNs: p.timestampNs + 1n }))]));
    const nsOurs = await ours(nsFile);
    const nsTheirs = await theirs(nsFile);
    console.log(`nanosecond pcap (${packets.length} records): ours ${nsOurs.records} records${nsOurs.error ? `, ${nsOurs.error}` : ''}; pcap-parser ${nsTheirs.records} records, error "${nsTheirs.error}"`);

    // pcapng of the same records.
    const ngw = new PcapngWriter();
    const id = ngw.addInterface({ name: 'eth0', linktype: 1, snaplen: 65535 });
    const ngFile = join(dir, 'gen.pcapng');
    writeFileSync(ngFile, Buffer.concat([ngw.header(), ...packets.map((p) => ngw.packet({ ...p, interfaceId: id, comment: 'c' }))]));
    const ngOurs = await ours(ngFile);
    const ngTheirs = await theirs(ngFile);
    console.log(`pcapng (${packets.length} records): ours ${ngOurs.records} records; pcap-parser ${ngTheirs.records} records, error "${ngTheirs.error}"`);

    // Truncated tail: the whole file minus 100 bytes (inside the last record).
    const cutFile = join(dir, 'cut.pcap');
    writeFileSync(cutFile, bytes.subarray(0, bytes.length - 100));
    const cutOurs = await ours(cutFile);
    const cutTheirs = await theirs(cutFile);
    console.log(`truncated tail (last record cut): ours ${cutOurs.records} records then "${cutOurs.error}"; pcap-parser ${cutTheirs.records} records, ${cutTheirs.headers} record headers, error ${cutTheirs.error ? `"${cutTheirs.error}"` : 'none'}`);

    // One corrupt incl_len (record 10 says 0x7fffffff), rest of the 40 MB intact.
    const bad = Buffer.from(bytes);
    const tenth = packets[9]!;
    bad.writeUInt32LE(0x7fffffff, tenth.offset + 8);
    const badFile = join(dir, 'corrupt.pcap');
    writeFileSync(badFile, bad);
    const badOurs = await inChild('ours', badFile, 120_000);
    const badTheirs = await inChild('theirs', badFile, 120_000);
    const show = (r: Awaited<ReturnType<typeof inChild>>) =>
      'timedOut' in r
        ? `killed after ${(r.ms / 1000).toFixed(1)} s (cap 120 s)`
        : `${r.records} records in ${r.ms.toFixed(0)} ms, peak RSS ${r.maxRssMB.toFixed(0)} MiB, error ${r.error ? `"${r.error}"` : 'none'}`;
    console.log(`corrupt incl_len at byte ${tenth.offset + 8}: ours ${show(badOurs)}`);
    console.log(`corrupt incl_len at byte ${tenth.offset + 8}: pcap-parser ${show(badTheirs)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  void child(process.argv[3] as 'ours' | 'theirs', process.argv[4]!);
} else {
  void main();
}
