/**
 * The bad-input table of the CLI: for every command, each class of bad input, the
 * command line that feeds it (fixtures generated into a temporary directory), and the
 * pattern the one stderr line must match: what is wrong and where (file, layer, field,
 * byte offset; file:line and key for YAML; the flag for a bad value). Exit code 2,
 * no stack trace. test/cli/bad-input.test.ts runs it and checks docs/robustness.md
 * ("Bad input") against what the CLI printed.
 */
import { readFileSync } from 'node:fs';
import { FixtureDir, REPLAY_SCENARIO, SAMPLE_PCAP, SIM_SCENARIO, pcapHeader, pcapRecord, pcapngEpb, pcapngIdb, pcapngShb, seededBytes, validPcapng, UNREADABLE_FOR_ROOT } from './bad-input-fixtures.ts';

/** How a row runs: in-process only, also as a spawned `node bin/natt-sim.js`, or only spawned. */
export type RunMode = 'in-process' | 'both' | 'spawn';

export interface BadInputRow {
  /** The input class, as in the docs table. */
  readonly input: string;
  readonly command: 'decode' | 'analyze' | 'verify' | 'replay' | 'simulate' | 'natd' | 'peer' | '(none)';
  /** The arguments after `natt-sim`, with fixtures made in `f`. */
  readonly argv: (f: BadInputFixtures) => string[];
  /** What the stderr line must match (after "natt-sim: "); `$DIR` stands for the fixture directory. */
  readonly err: RegExp;
  /** stdout: nothing, or the part of the report or listing read before the break. */
  readonly out?: 'empty' | 'partial';
  readonly mode?: RunMode;
  /** Needs a file this process cannot read: mode 000 (as root, spawned as another user). */
  readonly permission?: boolean;
  /** Needs /proc/self/mem (Linux). */
  readonly procMem?: boolean;
}

/** The capture commands and the extra arguments each needs besides the capture. */
const CAPTURE_COMMANDS = ['decode', 'analyze', 'verify', 'replay'] as const;
type CaptureCommand = (typeof CAPTURE_COMMANDS)[number];

/** Fixtures, made on demand under one directory (each name once). */
export class BadInputFixtures extends FixtureDir {
  private made = new Map<string, string>();

  once(name: string, make: () => string): string {
    let p = this.made.get(name);
    if (p === undefined) {
      p = make();
      this.made.set(name, p);
    }
    return p;
  }

  capture(name: string, bytes: () => Uint8Array): string {
    return this.once(name, () => this.file(name, bytes()));
  }

  text(name: string, content: () => string): string {
    return this.once(name, () => this.file(name, content()));
  }

  /** A valid expectation file for verify. */
  get expectations(): string {
    return this.text('expect.yaml', () => 'ikeSas:\n  count: 1\n');
  }

  /** The arguments of a capture command around one capture. */
  captureArgv(command: CaptureCommand, capture: string): string[] {
    if (command === 'verify') return ['verify', capture, '--expect', this.expectations];
    if (command === 'replay') return ['replay', capture, '--scenario', REPLAY_SCENARIO, '--out', this.path('replay-out')];
    return [command, capture];
  }
}

const sample = (): Buffer => readFileSync(SAMPLE_PCAP);
/** Where the sample's first record header starts, and its first frame's length. */
const FRAME1_LEN = 274;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A pattern whose `$DIR/` stands for the fixture directory (resolved per run). */
export function patternFor(row: BadInputRow, dir: string): RegExp {
  return new RegExp(row.err.source.replaceAll('\\$DIR', escape(dir)), row.err.flags);
}

interface CaptureClass {
  readonly input: string;
  readonly file: (f: BadInputFixtures) => string;
  readonly err: RegExp;
  /** Commands that print what came before the break. */
  readonly partial?: readonly CaptureCommand[];
  /** A different line for some commands. */
  readonly errFor?: Partial<Record<CaptureCommand, RegExp>>;
  readonly mode?: RunMode;
  readonly permission?: boolean;
  readonly procMem?: boolean;
}

const CAPTURE_CLASSES: CaptureClass[] = [
  { input: 'capture: missing file', file: (f) => f.path('missing.pcap'), err: /^\$DIR\/missing\.pcap: no such file$/ },
  {
    input: 'capture: unreadable (mode 000)',
    file: (f) => f.once('mode000.pcap', () => f.noAccess('mode000.pcap', 'x')),
    err: /^\$DIR\/mode000\.pcap: permission denied$/,
    permission: true,
  },
  { input: 'capture: read error (EIO)', file: () => UNREADABLE_FOR_ROOT, err: /^\/proc\/self\/mem: cannot read: EIO$/, procMem: true },
  { input: 'capture: empty file', file: (f) => f.capture('empty.pcap', () => new Uint8Array(0)), err: /^\$DIR\/empty\.pcap: pcap: magic at byte 0: empty file$/ },
  { input: 'capture: a directory', file: (f) => f.once('dir.pcap', () => f.subdir('dir.pcap')), err: /^\$DIR\/dir\.pcap: is a directory, not a capture file$/ },
  { input: 'capture: a FIFO', file: (f) => f.once('fifo.pcap', () => f.fifo('fifo.pcap')), err: /^\$DIR\/fifo\.pcap: not a regular file$/, mode: 'spawn' },
  {
    input: 'capture: text',
    file: (f) => f.capture('notes.txt', () => Buffer.from('hello, this is not a capture\n')),
    err: /^\$DIR\/notes\.txt: pcap: magic at byte 0: not a pcap or pcapng file: magic 0x68656c6c$/,
  },
  {
    input: 'capture: random bytes (seed 42)',
    file: (f) => f.capture('random.bin', () => seededBytes(42, 4096)),
    err: /^\$DIR\/random\.bin: pcap: magic at byte 0: not a pcap or pcapng file: magic 0x[0-9a-f]{8}$/,
  },
  {
    input: 'pcap: file header cut',
    file: (f) => f.capture('header-cut.pcap', () => sample().subarray(0, 10)),
    err: /^\$DIR\/header-cut\.pcap: pcap: thiszone at byte 8: truncated: the file ends 2 of 4 bytes into this field$/,
  },
  {
    input: 'pcap: record header cut',
    file: (f) => f.capture('record-cut.pcap', () => sample().subarray(0, 24 + 10)),
    err: /^\$DIR\/record-cut\.pcap: pcap: incl_len at byte 32: truncated: the file ends 2 of 4 bytes into this field$/,
    partial: ['analyze'],
  },
  {
    input: 'pcap: record data cut',
    file: (f) => f.capture('data-cut.pcap', () => sample().subarray(0, 24 + 16 + 100)),
    err: new RegExp(`^\\$DIR/data-cut\\.pcap: pcap: packet_data at byte 40: truncated: the file ends 100 of ${FRAME1_LEN} bytes into this field$`),
    partial: ['analyze'],
  },
  {
    input: 'pcap: record length over the limit',
    file: (f) => f.capture('huge-record.pcap', () => Buffer.concat([pcapHeader(1, 0x7fffffff), pcapRecord(new Uint8Array(0)).fill(0xff, 8, 16)])),
    err: /^\$DIR\/huge-record\.pcap: pcap: incl_len at byte 32: impossible captured length: 4294967295 bytes exceeds the 262144-byte maximum$/,
    partial: ['analyze'],
  },
  {
    input: 'pcapng: section header cut',
    file: (f) => f.capture('shb-cut.pcapng', () => validPcapng().subarray(0, 12)),
    err: /^\$DIR\/shb-cut\.pcapng: pcapng: major_version at byte 12: truncated: the file ends 0 of 2 bytes into this field$/,
  },
  {
    input: 'pcapng: packet block cut',
    file: (f) => f.capture('epb-cut.pcapng', () => validPcapng().subarray(0, validPcapng().length - 30)),
    err: /^\$DIR\/epb-cut\.pcapng: pcapng: packet_data at byte 384: truncated: the file ends 250 of 276 bytes into this field$/,
    errFor: { replay: /^\$DIR\/epb-cut\.pcapng: capture: record at byte 384: truncated: the file ends 250 of 276 bytes into this field \(replayed what came before\)$/ },
    partial: ['decode', 'analyze', 'replay'],
  },
  {
    input: 'pcapng: block length not a multiple of 4',
    file: (f) =>
      f.capture('len13.pcapng', () => {
        const b = validPcapng();
        b.writeUInt32LE(13, 28 + 20 + 4);
        return b;
      }),
    err: /^\$DIR\/len13\.pcapng: pcapng: block_total_length at byte 52: 13 is not a multiple of 4$/,
    partial: ['analyze'],
  },
  {
    input: 'pcapng: block length of 2 GB',
    file: (f) =>
      f.capture('len2g.pcapng', () => {
        const b = validPcapng();
        b.writeUInt32LE(0x7ffffff0, 28 + 20 + 4);
        return b;
      }),
    err: /^\$DIR\/len2g\.pcapng: pcapng: block_total_length at byte 52: 2147483632 bytes exceeds the 1048576-byte limit for an enhanced packet block$/,
    partial: ['analyze'],
  },
  {
    input: 'pcapng: trailing block length differs',
    file: (f) =>
      f.capture('trailer.pcapng', () => {
        const b = validPcapng();
        b.writeUInt32LE(999, b.length - 4);
        return b;
      }),
    err: /^\$DIR\/trailer\.pcapng: pcapng: block_total_length at byte 660: trailing copy 999 differs from the leading 308$/,
    errFor: { replay: /^\$DIR\/trailer\.pcapng: capture: record at byte 660: trailing copy 999 differs from the leading 308 \(replayed what came before\)$/ },
    partial: ['decode', 'analyze', 'replay'],
  },
  {
    input: 'pcap: unsupported link type (147)',
    file: (f) => f.capture('linktype.pcap', () => Buffer.concat([pcapHeader(147), pcapRecord(Buffer.from([1, 2, 3, 4]))])),
    err: /^\$DIR\/linktype\.pcap: link type 147 \(interface 0\) is not supported: natt-sim reads Ethernet \(1\), RAW \(101, 12, 14, 228, 229\), NULL \(0\), LOOP \(108\), LINUX_SLL \(113\) and LINUX_SLL2 \(276\)$/,
    errFor: { analyze: /^\$DIR\/linktype\.pcap: link type 147 is not supported: natt-sim reads Ethernet \(1\), RAW/, verify: /^\$DIR\/linktype\.pcap: link type 147 is not supported: natt-sim reads Ethernet \(1\), RAW/ },
  },
  {
    input: 'pcapng: unsupported link type (147)',
    file: (f) => f.capture('linktype.pcapng', () => Buffer.concat([pcapngShb(), pcapngIdb(147), pcapngEpb(Buffer.from([1, 2, 3, 4]))])),
    err: /^\$DIR\/linktype\.pcapng: link type 147 \(interface 0\) is not supported: natt-sim reads Ethernet \(1\), RAW/,
    errFor: { analyze: /^\$DIR\/linktype\.pcapng: link type 147 is not supported: natt-sim reads Ethernet \(1\), RAW/, verify: /^\$DIR\/linktype\.pcapng: link type 147 is not supported: natt-sim reads Ethernet \(1\), RAW/ },
  },
];

const captureRows: BadInputRow[] = CAPTURE_CLASSES.flatMap((c) =>
  CAPTURE_COMMANDS.map(
    (command): BadInputRow => ({
      input: c.input,
      command,
      argv: (f) => f.captureArgv(command, c.file(f)),
      err: c.errFor?.[command] ?? c.err,
      out: c.partial?.includes(command) ? 'partial' : 'empty',
      ...(c.mode ? { mode: c.mode } : {}),
      ...(c.permission ? { permission: true } : {}),
      ...(c.procMem ? { procMem: true } : {}),
    }),
  ),
);

/** Key tables (`--keys`) for analyze and verify. */
const IKE_ROW = '8391f754f1670e3d,5bc1c325f6ce53e8,00112233445566778899aabbccddeeff00112233,00112233445566778899aabbccddeeff00112233,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"';
const KEY_CLASSES: Array<{ input: string; keys: (f: BadInputFixtures) => string; err: RegExp; mode?: RunMode; permission?: boolean; procMem?: boolean }> = [
  { input: 'keys: missing', keys: (f) => f.path('no-keys'), err: /^\$DIR\/no-keys: no such file or directory \(--keys\)$/ },
  {
    input: 'keys: unreadable (mode 000)',
    keys: (f) => f.once('mode000.esp_sa', () => f.noAccess('mode000.esp_sa', 'x')),
    err: /^\$DIR\/mode000\.esp_sa: permission denied$/,
    permission: true,
  },
  { input: 'keys: read error (EIO)', keys: () => UNREADABLE_FOR_ROOT, err: /^\/proc\/self\/mem: cannot read: EIO$/, procMem: true },
  { input: 'keys: empty file', keys: (f) => f.text('empty.ikev2_decryption_table', () => ''), err: /^\$DIR\/empty\.ikev2_decryption_table: no key rows \(expected Wireshark's ikev2_decryption_table or esp_sa format\)$/ },
  { input: 'keys: directory without key tables', keys: (f) => f.once('keys-dir', () => f.subdir('keys-dir', { 'notes.txt': 'x\n' })), err: /^\$DIR\/keys-dir: holds neither ikev2_decryption_table nor esp_sa \(--keys\)$/ },
  { input: 'keys: a FIFO', keys: (f) => f.once('keys.fifo', () => f.fifo('keys.fifo')), err: /^\$DIR\/keys\.fifo: not a regular file$/, mode: 'spawn' },
  { input: 'keys: random bytes (seed 7)', keys: (f) => f.capture('random.keys', () => seededBytes(7, 300)), err: /^\$DIR\/random\.keys:1: field \S+: expected 8 fields, found \d+$/ },
  { input: 'keys: a capture given instead', keys: () => SAMPLE_PCAP, err: /strongswan-nat-outside\.pcap:1: field SPIr: expected 8 fields, found 1$/ },
  {
    input: 'keys: ikev2 row with 2 of 8 fields',
    keys: (f) => f.text('short.ikev2_decryption_table', () => '8391f754f1670e3d,5bc1c325f6ce53e8\n'),
    err: /^\$DIR\/short\.ikev2_decryption_table:1: field SK_ei: expected 8 fields, found 2$/,
  },
  {
    input: 'keys: ikev2 SK_ei not hex',
    keys: (f) => f.text('hex.ikev2_decryption_table', () => `# header\n${IKE_ROW.replace('00112233445566778899aabbccddeeff00112233,', 'zz,')}\n`),
    err: /^\$DIR\/hex\.ikev2_decryption_table:2: field SK_ei: not an even number of hex digits: "zz"$/,
  },
  {
    input: 'keys: ikev2 SPIi of 4 bytes',
    keys: (f) => f.text('spi.ikev2_decryption_table', () => `${IKE_ROW.replace('8391f754f1670e3d', '8391f754')}\n`),
    err: /^\$DIR\/spi\.ikev2_decryption_table:1: field SPIi: /,
  },
  {
    input: 'keys: esp_sa SPI without 0x',
    keys: (f) => f.text('spi.esp_sa', () => '"IPv4","*","*","33edbb96","AES-GCM with 16 octet ICV [RFC4106]","0x00112233445566778899aabbccddeeff00112233","NULL",""\n'),
    err: /^\$DIR\/spi\.esp_sa:1: field SPI: expected 0x followed by up to 8 hex digits, got "33edbb96"$/,
  },
  {
    input: 'keys: esp_sa key too short for its cipher',
    keys: (f) => f.text('short-key.esp_sa', () => '"IPv4","*","*","0x33edbb96","AES-GCM with 16 octet ICV [RFC4106]","0x2520","NULL",""\n'),
    err: /^\$DIR\/short-key\.esp_sa:1: field encryption key: AES-GCM with 16 octet ICV \[RFC4106\] needs 20 or 28 or 36 bytes, got 2$/,
  },
];
const keyRows: BadInputRow[] = KEY_CLASSES.flatMap((k) =>
  (['analyze', 'verify'] as const).map(
    (command): BadInputRow => ({
      input: k.input,
      command,
      argv: (f) => [...f.captureArgv(command, SAMPLE_PCAP), '--keys', k.keys(f)],
      err: k.err,
      out: 'empty',
      ...(k.mode ? { mode: k.mode } : {}),
      ...(k.permission ? { permission: true } : {}),
      ...(k.procMem ? { procMem: true } : {}),
    }),
  ),
);

/** Expectation files for verify. */
const expectRows: BadInputRow[] = (
  [
    ['expectations: missing', (f) => f.path('missing.yaml'), /^\$DIR\/missing\.yaml: no such file$/],
    ['expectations: unreadable (mode 000)', (f) => f.once('mode000.yaml', () => f.noAccess('mode000.yaml', 'ikeSas: {}\n')), /^\$DIR\/mode000\.yaml: permission denied$/, { permission: true }],
    ['expectations: read error (EIO)', () => UNREADABLE_FOR_ROOT, /^\/proc\/self\/mem: cannot read: EIO$/, { procMem: true }],
    ['expectations: empty file', (f) => f.text('empty.yaml', () => ''), /^\$DIR\/empty\.yaml:1: the file must be a mapping of report fields \(e\.g\. ikeSas:, espSas:, findings:\)$/],
    ['expectations: a directory', (f) => f.once('expect-dir', () => f.subdir('expect-dir')), /^\$DIR\/expect-dir: is a directory, not an expectation file$/],
    ['expectations: a FIFO', (f) => f.once('expect.fifo', () => f.fifo('expect.fifo')), /^\$DIR\/expect\.fifo: not a regular file$/, { mode: 'spawn' }],
    ['expectations: YAML syntax error', (f) => f.text('syntax.yaml', () => 'findings:\n  none: { severity: error\n'), /^\$DIR\/syntax\.yaml:3: YAML: /],
    ['expectations: unknown key', (f) => f.text('unknown.yaml', () => 'ikeSas:\n  - natDetection:\n      behindNat: true\n'), /^\$DIR\/unknown\.yaml:3: ikeSas\[0\]\.natDetection\.behindNat: unknown field \(fields: consistent, /],
    ['expectations: wrong type', (f) => f.text('type.yaml', () => 'espSas:\n  count: two\n'), /^\$DIR\/type\.yaml:2: espSas\.count: expected number, got string "two"$/],
    ['expectations: a capture given instead', () => SAMPLE_PCAP, /strongswan-nat-outside\.pcap:\d+: YAML: /],
  ] as Array<[string, (f: BadInputFixtures) => string, RegExp, Partial<BadInputRow>?]>
).map(([input, file, err, extra]) => ({ input, command: 'verify', argv: (f) => ['verify', SAMPLE_PCAP, '--expect', file(f)], err, out: 'empty', ...extra }));

/** Scenario files for simulate and replay: one line of a valid scenario changed. */
function edited(base: string, from: string | RegExp, to: string): string {
  const text = readFileSync(base, 'utf8');
  const out = text.replace(from, to);
  if (out === text) throw new Error(`fixture edit found nothing to change in ${base}`);
  return out;
}
type ScenarioClass = [string, (f: BadInputFixtures, base: string, tag: string) => string, RegExp, Partial<BadInputRow>?];
const SCENARIO_CLASSES: ScenarioClass[] = [
  ['scenario: missing', (f, _b, t) => f.path(`missing-${t}.yaml`), /^\$DIR\/missing-\w+\.yaml: no such file$/],
  ['scenario: unreadable (mode 000)', (f, _b, t) => f.once(`mode000-${t}.yaml`, () => f.noAccess(`mode000-${t}.yaml`, 'name: x\n')), /^\$DIR\/mode000-\w+\.yaml: permission denied$/, { permission: true }],
  ['scenario: read error (EIO)', () => UNREADABLE_FOR_ROOT, /^\/proc\/self\/mem: cannot read: EIO$/, { procMem: true }],
  ['scenario: empty file', (f, _b, t) => f.text(`empty-${t}.yaml`, () => ''), /^\$DIR\/empty-\w+\.yaml:1: expected a map, got nothing$/],
  ['scenario: a directory', (f, _b, t) => f.once(`scenario-dir-${t}`, () => f.subdir(`scenario-dir-${t}`)), /^\$DIR\/scenario-dir-\w+: is a directory, not a scenario file$/],
  ['scenario: a FIFO', (f, _b, t) => f.once(`scenario-${t}.fifo`, () => f.fifo(`scenario-${t}.fifo`)), /^\$DIR\/scenario-\w+\.fifo: not a regular file$/, { mode: 'spawn' }],
  [
    'scenario: YAML syntax error',
    (f, b, t) => f.text(`syntax-${t}.yaml`, () => edited(b, /interfaces: \[\{ name: eth0, address: ([\d./]+) \}\]/, 'interfaces: [{ name: eth0, address: $1 }')),
    /^\$DIR\/syntax-\w+\.yaml:\d+: YAML syntax error: /,
  ],
  ['scenario: unknown key', (f, b, t) => f.text(`unknown-${t}.yaml`, () => edited(b, /^seed: /m, 'sead: ')), /^\$DIR\/unknown-\w+\.yaml:\d+: sead: unknown key "sead" \(expected one of: name, description, seed, /],
  ['scenario: wrong type', (f, b, t) => f.text(`type-${t}.yaml`, () => edited(b, /^seed: 1$/m, 'seed: [1]')), /^\$DIR\/type-\w+\.yaml:\d+: seed: expected /],
  [
    'scenario: bad address',
    (f, b, t) => f.text(`address-${t}.yaml`, () => edited(b, /address: (\d+\.\d+\.\d+)\.\d+\/24 \}\]/, 'address: $1.300/24 }]')),
    /^\$DIR\/address-\w+\.yaml:\d+: topology\.hosts\[0\]\.interfaces\[0\]\.address: bad address "\d+\.\d+\.\d+\.300\/24"/,
  ],
  ['scenario: a capture given instead', () => SAMPLE_PCAP, /strongswan-nat-outside\.pcap:\d+: YAML syntax error: /],
];
const scenarioRows: BadInputRow[] = [
  ...SCENARIO_CLASSES.map(([input, file, err, extra]): BadInputRow => ({ input, command: 'simulate', argv: (f) => ['simulate', file(f, SIM_SCENARIO, 'sim'), '--out', f.path('sim-out')], err, out: 'empty', ...extra })),
  {
    input: 'scenario: bad duration',
    command: 'simulate',
    argv: (f) => ['simulate', f.text('duration-sim.yaml', () => edited(SIM_SCENARIO, /^duration: .*$/m, 'duration: forever')), '--out', f.path('sim-out')],
    err: /^\$DIR\/duration-sim\.yaml:\d+: duration: bad duration "forever" \(expected a number of seconds or a number with a unit: 250ms, 20s, 5m, 2h\)$/,
    out: 'empty',
  },
  ...SCENARIO_CLASSES.map(
    ([input, file, err, extra]): BadInputRow => ({
      input,
      command: 'replay',
      argv: (f) => ['replay', SAMPLE_PCAP, '--scenario', file(f, REPLAY_SCENARIO, 'replay'), '--out', f.path('replay-out')],
      err,
      out: 'empty',
      ...extra,
    }),
  ),
  {
    input: 'scenario: bad duration',
    command: 'replay',
    argv: (f) => ['replay', SAMPLE_PCAP, '--scenario', f.text('duration-replay.yaml', () => edited(REPLAY_SCENARIO, 'udp: 20s', 'udp: soon')), '--out', f.path('replay-out')],
    err: /^\$DIR\/duration-replay\.yaml:\d+: topology\.nats\[0\]\.timeouts\.udp: bad duration "soon"/,
    out: 'empty',
  },
  {
    input: 'scenario: attackers',
    command: 'replay',
    argv: (f) => [
      'replay',
      SAMPLE_PCAP,
      '--scenario',
      f.text('attackers-replay.yaml', () => `${readFileSync(REPLAY_SCENARIO, 'utf8')}attackers:\n  - { name: flood, host: initiator, kind: ike-init-flood, target: 198.51.100.2:500, count: 10, rate: 10 }\n`),
      '--out',
      f.path('replay-out'),
    ],
    err: /^\$DIR\/attackers-replay\.yaml:31: attackers: not supported by replay: it re-sends a capture and starts no peers, so nothing would be attacked \(run the scenario with simulate, or remove the section\)$/,
    out: 'empty',
  },
];

/** Command lines: unknown flags, missing required ones, bad values. */
const PEER_FLAGS: Record<string, string> = { role: 'initiator', local: '127.0.0.1', remote: '127.0.0.2', psk: 'secret', id: 'ini.test', duration: '1s' };
/** A peer command line that would otherwise be valid (it fails before any socket is bound). */
function peer(over: Record<string, string> = {}, extra: string[] = []): string[] {
  return ['peer', ...Object.entries({ ...PEER_FLAGS, ...over }).flatMap(([k, v]) => [`--${k}`, v]), ...extra];
}
const NATD = ['natd', '--spi-i', '8391f754f1670e3d', '--spi-r', '0', '--addr', '198.51.100.2:500'];
const flagRows: BadInputRow[] = (
  [
    ['command line: no command', '(none)', () => [], /^give a command \(see --help\)$/],
    ['command line: unknown command', '(none)', () => ['frobnicate'], /^Unknown argument: frobnicate$/],
    ['command line: unknown flag', 'decode', () => ['decode', SAMPLE_PCAP, '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'analyze', () => ['analyze', SAMPLE_PCAP, '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'verify', (f) => ['verify', SAMPLE_PCAP, '--expect', f.expectations, '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'replay', (f) => ['replay', SAMPLE_PCAP, '--scenario', REPLAY_SCENARIO, '--out', f.path('replay-out'), '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'simulate', (f) => ['simulate', '--out', f.path('sim-out'), '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'natd', () => [...NATD, '--frob'], /^Unknown argument: frob$/],
    ['command line: unknown flag', 'peer', () => peer({}, ['--frob']), /^Unknown argument: frob$/],
    ['command line: missing capture', 'decode', () => ['decode'], /^Not enough non-option arguments: got 0, need at least 1$/],
    ['command line: missing capture', 'analyze', () => ['analyze', '--json'], /^Not enough non-option arguments: got 0, need at least 1$/],
    ['command line: missing capture', 'verify', (f) => ['verify', '--expect', f.expectations], /^Not enough non-option arguments: got 0, need at least 1$/],
    ['command line: missing capture', 'replay', () => ['replay', '--scenario', REPLAY_SCENARIO], /^Not enough non-option arguments: got 0, need at least 1$/],
    ['command line: missing --expect', 'verify', () => ['verify', SAMPLE_PCAP], /^Missing required argument: expect$/],
    ['command line: missing --scenario', 'replay', () => ['replay', SAMPLE_PCAP], /^Missing required argument: scenario$/],
    ['command line: missing --addr', 'natd', () => NATD.slice(0, 5), /^Missing required argument: addr$/],
    ['command line: missing --role', 'peer', () => ['peer', '--local', '127.0.0.1'], /^--role: required \(initiator or responder\)$/],
    ['command line: missing --psk', 'peer', () => ['peer', '--role', 'responder', '--local', '127.0.0.1'], /^--psk: required \(the pre-shared key\)$/],
    ['command line: two captures for one', 'decode', () => ['decode', SAMPLE_PCAP, SAMPLE_PCAP], /^Unknown argument: .*strongswan-nat-outside\.pcap$/],
    ['bad value: --nat-timeout', 'analyze', () => ['analyze', SAMPLE_PCAP, '--nat-timeout', 'soon'], /^--nat-timeout: "soon" is not a duration \(e\.g\. 30s, 2m, 500ms\)$/],
    ['bad value: negative --nat-timeout', 'analyze', () => ['analyze', SAMPLE_PCAP, '--nat-timeout=-5s'], /^--nat-timeout: "-5s" is not a duration/],
    ['bad value: --nat-timeout', 'verify', (f) => ['verify', SAMPLE_PCAP, '--expect', f.expectations, '--nat-timeout', '0'], /^--nat-timeout: "0" is not a duration/],
    ['bad value: --diagram extension', 'analyze', (f) => ['analyze', SAMPLE_PCAP, '--diagram', f.path('ladder.png')], /^--diagram: "\$DIR\/ladder\.png": give a file name ending in \.svg \(SVG\) or \.mmd \(Mermaid\)$/],
    ['bad value: --explain with --json', 'analyze', () => ['analyze', SAMPLE_PCAP, '--json', '--explain'], /^--explain and --json exclude each other/],
    ['bad value: --seed not a number', 'simulate', (f) => ['simulate', '--seed', 'abc', '--out', f.path('sim-out')], /^--seed must be an integer 0\.\.4294967295, got NaN$/],
    ['bad value: negative --seed', 'simulate', (f) => ['simulate', '--seed', '-3', '--out', f.path('sim-out')], /^--seed must be an integer 0\.\.4294967295, got -3$/],
    ['bad value: --out is a file', 'simulate', (f) => ['simulate', SIM_SCENARIO, '--out', f.text('out-file', () => 'x')], /^\$DIR\/out-file: cannot create the output directory: EEXIST$/],
    ['bad value: --out is a file', 'replay', (f) => ['replay', SAMPLE_PCAP, '--scenario', REPLAY_SCENARIO, '--out', f.text('out-file', () => 'x')], /^\$DIR\/out-file: cannot create the output directory: EEXIST$/],
    ['bad value: --map', 'replay', (f) => ['replay', SAMPLE_PCAP, '--scenario', REPLAY_SCENARIO, '--out', f.path('replay-out'), '--map', 'nonsense'], /^--map nonsense: expected CAPTURED_ADDRESS=HOST or CAPTURED_ADDRESS=HOST\.INTERFACE$/],
    ['bad value: --map host', 'replay', (f) => ['replay', SAMPLE_PCAP, '--scenario', REPLAY_SCENARIO, '--out', f.path('replay-out'), '--map', '198.51.100.2=ghost'], /^--map 198\.51\.100\.2=ghost: unknown host "ghost" \(hosts: initiator, responder\)$/],
    ['bad value: hex SPI', 'natd', () => ['natd', '--spi-i', '8391f754f1670e3g', '--spi-r', '0', '--addr', '198.51.100.2:500'], /^--spi-i: "8391f754f1670e3g" is not an 8-byte SPI: give 16 hex digits/],
    ['bad value: short SPI', 'natd', () => ['natd', '--spi-i', '8391f754f1670e3d', '--spi-r', '5bc1c325', '--addr', '198.51.100.2:500'], /^--spi-r: "5bc1c325" is not an 8-byte SPI/],
    ['bad value: IP address', 'natd', () => ['natd', '--spi-i', '0', '--spi-r', '0', '--addr', '198.51.100.256:500'], /^--addr: "198\.51\.100\.256:500" is not IP:PORT/],
    ['bad value: port', 'natd', () => ['natd', '--spi-i', '0', '--spi-r', '0', '--addr', '198.51.100.2:70000'], /^--addr: "198\.51\.100\.2:70000" is not IP:PORT/],
    ['bad value: --hash', 'natd', () => [...NATD, '--ikev1', '--hash', 'sha3'], /^--hash: "sha3" is not one of md5, sha1, sha256, sha384, sha512$/],
    ['bad value: --role', 'peer', () => ['peer', '--role', 'boss'], /^--role: expected "initiator" or "responder", got "boss"$/],
    ['bad value: IP address', 'peer', () => peer({ local: '10.0.0.256' }), /^--local: not an IP address: "10\.0\.0\.256"$/],
    ['bad value: wildcard address', 'peer', () => peer({ local: '0.0.0.0' }), /^--local: give a specific address, not a wildcard/],
    ['bad value: port', 'peer', () => peer({ 'ike-port': '70000' }), /^--ike-port: a UDP port is 1\.\.65535, got "70000"$/],
    ['bad value: negative port', 'peer', () => peer({ 'natt-port': '-1' }), /^--natt-port: a UDP port is 1\.\.65535, got "-1"$/],
    ['bad value: duration', 'peer', () => peer({ duration: 'forever' }), /^--duration: not a duration: "forever" \(e\.g\. "20s", "250ms", "1h"\)$/],
    ['bad value: negative duration', 'peer', () => peer({}, ['--keepalive=-5s']), /^--keepalive: not a duration: "-5s"/],
    ['bad value: IKE proposal', 'peer', () => peer({ 'ike-proposal': 'aes999-sha1-modp2048' }), /^--ike-proposal: unknown algorithm "aes999" in proposal "aes999-sha1-modp2048"$/],
    ['bad value: ESP proposal', 'peer', () => peer({ 'esp-proposal': 'aes128-bogus' }), /^--esp-proposal: unknown algorithm "bogus" in proposal "aes128-bogus"$/],
    ['bad value: traffic selector', 'peer', () => peer({ 'local-ts': '10.0.0.0/33' }), /^--local-ts: not a traffic selector: "10\.0\.0\.0\/33"/],
    ['bad value: negative --count', 'peer', () => peer({ 'local-ts': '10.77.10.1/32', ping: '10.77.20.1', count: '-3' }), /^--count: an integer 1\.\.1000000, got "-3"$/],
    ['bad value: --count without --ping', 'peer', () => peer({ count: '3' }), /^--count: needs --ping$/],
    ['bad value: --seed', 'peer', () => peer({ seed: 'abc' }), /^--seed: an integer 0\.\.4294967295, got "abc"$/],
    ['bad value: --encap off', 'peer', () => peer({ encap: 'off' }), /^--encap: raw ESP \(protocol 50\) is not supported in live mode; use --encap force or a NAT$/],
  ] as Array<[string, BadInputRow['command'], (f: BadInputFixtures) => string[], RegExp, Partial<BadInputRow>?]>
).map(([input, command, argv, err, extra]) => ({ input, command, argv, err, out: 'empty', ...extra }));

/** A few rows that also run as `node bin/natt-sim.js` (exit status, no stack, no hang at the process level). */
const SPAWNED = new Set([
  'capture: missing file|decode',
  'pcapng: packet block cut|analyze',
  'expectations: wrong type|verify',
  'pcap: unsupported link type (147)|replay',
  'scenario: unknown key|simulate',
  'bad value: hex SPI|natd',
  'bad value: IKE proposal|peer',
  'command line: unknown command|(none)',
]);

export const BAD_INPUT_ROWS: readonly BadInputRow[] = [...captureRows, ...keyRows, ...expectRows, ...scenarioRows, ...flagRows].map((r) =>
  SPAWNED.has(`${r.input}|${r.command}`) ? { ...r, mode: 'both' } : r,
);

export const rowKey = (r: Pick<BadInputRow, 'input' | 'command'>): string => `${r.input}|${r.command}`;
