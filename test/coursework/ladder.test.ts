/**
 * Ladder diagrams: the model built from a capture's report and timeline, the Mermaid
 * text for the strongswan-lab a-nat-keepalive captures (exact), the NAT column and
 * its translations when both sides of the NAT were captured, traffic that a capture
 * beyond the NAT does not show, and `analyze --diagram`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLadder, ARROW_STYLE, PARTICIPANT_KIND } from '../../src/analysis/ladder.ts';
import { logicalIkeMessages } from '../../src/analysis/timeline.ts';
import { hostOf, portOf } from '../../src/analysis/vantage.ts';
import { Dissector } from '../../src/analysis/dissect.ts';
import { renderMermaid } from '../../src/cli/diagram/mermaid.ts';
import type { CaptureEntry } from '../../src/pcap/format.ts';
import { analyse, captureEntries, INSIDE, OUTSIDE, runCli } from './support.ts';

const OUTSIDE_MERMAID = `sequenceDiagram
    title capture outside.pcap
    participant P0 as initiator (behind NAT)<br/>seen as 198.51.100.1
    participant P1 as responder<br/>198.51.100.2
    P0->>P1: IKE_SA_INIT request<br/>198.51.100.1:29396 → 198.51.100.2:500
    P1->>P0: IKE_SA_INIT response<br/>198.51.100.2:500 → 198.51.100.1:29396
    Note over P0,P1: NAT-D: initiator behind NAT, responder not
    Note over P0,P1: IKE floats to UDP 4500, behind the non-ESP marker
    P0->>P1: IKE_AUTH request<br/>198.51.100.1:26329 → 198.51.100.2:4500
    P1->>P0: IKE_AUTH response<br/>198.51.100.2:4500 → 198.51.100.1:26329
    P0-)P1: 10 × ESP-in-UDP spi 0x33edbb96 seq 1–10<br/>198.51.100.1:26329 → 198.51.100.2:4500
    P1-)P0: 10 × ESP-in-UDP spi 0xd80bade7 seq 1–10<br/>198.51.100.2:4500 → 198.51.100.1:26329
    P0--)P1: 5 × NAT-keepalive every 5.0 s<br/>198.51.100.1:26329 → 198.51.100.2:4500
    P0->>P1: INFORMATIONAL request<br/>198.51.100.1:26329 → 198.51.100.2:4500
    P1->>P0: INFORMATIONAL response<br/>198.51.100.2:4500 → 198.51.100.1:26329
`;

let dir: string;
let outside: CaptureEntry[];
let inside: CaptureEntry[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-ladder-'));
  outside = await captureEntries(OUTSIDE);
  inside = await captureEntries(INSIDE);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ladder from outside.pcap', () => {
  it('is the exact Mermaid sequence diagram: two peers, six IKE messages, two notes, ESP and keepalive runs', () => {
    const { report, timeline } = analyse([{ name: 'outside.pcap', entries: outside }]);
    expect(renderMermaid(captureLadder(report, timeline))).toBe(OUTSIDE_MERMAID);
  });

  it('keeps times relative to the first frame and one style per kind of traffic', () => {
    const { report, timeline } = analyse([{ name: 'outside.pcap', entries: outside }]);
    const l = captureLadder(report, timeline);
    expect(l.participants.map((p) => [p.id, p.kind])).toEqual([
      ['P0', PARTICIPANT_KIND.PEER],
      ['P1', PARTICIPANT_KIND.PEER],
    ]);
    const arrows = l.rows.flatMap((r) => (r.kind === 'arrow' ? [[r.at, r.style]] : []));
    expect(arrows).toEqual([
      [0, ARROW_STYLE.IKE],
      [6_528, ARROW_STYLE.IKE],
      [14_354, ARROW_STYLE.IKE],
      [19_845, ARROW_STYLE.IKE],
      [277_492, ARROW_STYLE.ESP],
      [278_236, ARROW_STYLE.ESP],
      [14_012_867, ARROW_STYLE.KEEPALIVE],
      [35_147_357, ARROW_STYLE.IKE],
      [35_149_690, ARROW_STYLE.IKE],
    ]);
    expect(l.omittedRows).toBe(0);
  });

  it('limits the rows and says how many were left out', () => {
    const { report, timeline } = analyse([{ name: 'outside.pcap', entries: outside }]);
    const l = captureLadder(report, timeline, { maxRows: 4 });
    expect(l.rows).toHaveLength(4);
    expect(l.omittedRows).toBe(7);
    expect(renderMermaid(l).trimEnd().split('\n').at(-1)).toBe('    Note over P0,P1: 7 more rows not shown');
  });
});

describe('ladder from inside.pcap + outside.pcap: initiator | NAT | responder', () => {
  it('puts the NAT between the peers, each message as two arrows, and notes each new mapping once', () => {
    const { report, timeline } = analyse([
      { name: 'inside.pcap', entries: inside },
      { name: 'outside.pcap', entries: outside },
    ]);
    expect(logicalIkeMessages(timeline).map((m) => m.seen.length)).toEqual([2, 2, 2, 2, 2, 2]);
    const text = renderMermaid(captureLadder(report, timeline));
    expect(text.split('\n').slice(0, 12)).toEqual([
      'sequenceDiagram',
      '    title captures inside.pcap + outside.pcap',
      '    participant P0 as initiator<br/>10.77.0.2',
      '    participant P1 as NAT<br/>198.51.100.1',
      '    participant P2 as responder<br/>198.51.100.2',
      '    P0->>P1: IKE_SA_INIT request<br/>10.77.0.2:500 → 198.51.100.2:500',
      '    Note over P1: 10.77.0.2:500 ↦ 198.51.100.1:29396',
      '    P1->>P2: IKE_SA_INIT request<br/>198.51.100.1:29396 → 198.51.100.2:500',
      '    P2->>P1: IKE_SA_INIT response<br/>198.51.100.2:500 → 198.51.100.1:29396',
      '    P1->>P0: IKE_SA_INIT response<br/>198.51.100.2:500 → 10.77.0.2:500',
      '    Note over P0,P2: NAT-D: initiator behind NAT, responder not',
      '    Note over P0,P2: IKE floats to UDP 4500, behind the non-ESP marker',
    ]);
    expect(text.split('\n').filter((l) => l.startsWith('    Note over P1:'))).toEqual([
      '    Note over P1: 10.77.0.2:500 ↦ 198.51.100.1:29396',
      '    Note over P1: 10.77.0.2:4500 ↦ 198.51.100.1:26329',
    ]);
    expect(text).toContain('    P0-)P1: 10 × ESP-in-UDP spi 0x33edbb96 seq 1–10<br/>10.77.0.2:4500 → 198.51.100.2:4500\n    P1-)P2: 10 × ESP-in-UDP spi 0x33edbb96 seq 1–10<br/>198.51.100.1:26329 → 198.51.100.2:4500\n');
    expect(text).toContain('    P0--)P1: 5 × NAT-keepalive every 5.0 s<br/>10.77.0.2:4500 → 198.51.100.2:4500\n    P1--)P2: 5 × NAT-keepalive every 5.0 s<br/>198.51.100.1:26329 → 198.51.100.2:4500\n');
    expect(text.split('\n').filter((l) => /^ {4}P\d/.test(l))).toHaveLength(18);
  });

  it('marks traffic seen inside but missing outside as not seen beyond the NAT', () => {
    // The outside capture without the initiator's ESP (SPI 33edbb96): as if the NAT had dropped it.
    const d = new Dissector();
    const filtered = outside.filter((e) => e.kind !== 'packet' || d.dissect(e).esp?.spi !== 0x33edbb96);
    expect(outside.length - filtered.length).toBe(10);
    const { report, timeline } = analyse([
      { name: 'inside.pcap', entries: inside },
      { name: 'outside-filtered.pcap', entries: filtered },
    ]);
    const l = captureLadder(report, timeline);
    // inside.pcap frame 5 (first ESP, epoch .740901) minus its frame 1 (.463386), the earliest frame of both files.
    const esp = l.rows.filter((r) => r.kind === 'arrow' && r.label.includes('33edbb96'));
    expect(esp).toEqual([
      { kind: 'arrow', at: 277_515, from: 'P0', to: 'P1', label: '10 × ESP-in-UDP spi 0x33edbb96 seq 1–10', detail: '10.77.0.2:4500 → 198.51.100.2:4500', style: ARROW_STYLE.ESP },
      { kind: 'arrow', at: 277_515, from: 'P1', to: 'P2', label: '10 × ESP-in-UDP spi 0x33edbb96 seq 1–10', detail: 'not seen in outside-filtered.pcap', style: ARROW_STYLE.LOST },
    ]);
    expect(renderMermaid(l)).toContain('    P1-xP2: 10 × ESP-in-UDP spi 0x33edbb96 seq 1–10<br/>not seen in outside-filtered.pcap\n');
  });
});

describe('endpoint text', () => {
  it('splits IPv4 and IPv6 endpoints and leaves bare addresses alone', () => {
    expect([hostOf('10.77.0.2:500'), portOf('10.77.0.2:500')]).toEqual(['10.77.0.2', 500]);
    expect([hostOf('[2001:db8::1]:4500'), portOf('[2001:db8::1]:4500')]).toEqual(['2001:db8::1', 4500]);
    expect([hostOf('2001:db8::1'), portOf('2001:db8::1')]).toEqual(['2001:db8::1', null]);
    expect([hostOf('203.0.113.2'), portOf('203.0.113.2')]).toEqual(['203.0.113.2', null]);
  });
});

describe('analyze --diagram FILE', () => {
  it('.mmd writes the Mermaid text and still prints the report', async () => {
    const f = join(dir, 'a.mmd');
    const r = await runCli(['analyze', OUTSIDE, '--diagram', f]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.startsWith('natt-sim analyze: 1 capture(s), 1 IKE SA(s), 2 ESP SA(s)')).toBe(true);
    expect(readFileSync(f, 'utf8')).toBe(OUTSIDE_MERMAID);
  });

  it('.svg writes a self-contained SVG document', async () => {
    const f = join(dir, 'a.svg');
    const r = await runCli(['analyze', INSIDE, OUTSIDE, '--diagram', f, '--explain']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('What happened in inside.pcap + outside.pcap');
    const svg = readFileSync(f, 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('>10.77.0.2:500 ↦ 198.51.100.1:29396</text>');
  });

  it('another extension is one line and exit 2, before anything is read', async () => {
    const f = join(dir, 'a.png');
    const r = await runCli(['analyze', OUTSIDE, '--diagram', f]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toBe(`natt-sim: --diagram: "${f}": give a file name ending in .svg (SVG) or .mmd (Mermaid)\n`);
    expect(existsSync(f)).toBe(false);
  });

  it('an unwritable path is one line and exit 2', async () => {
    const f = join(dir, 'no-such-dir', 'a.svg');
    const r = await runCli(['analyze', OUTSIDE, '--diagram', f]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`natt-sim: --diagram: ${f}: cannot write: ENOENT\n`);
  });
});
