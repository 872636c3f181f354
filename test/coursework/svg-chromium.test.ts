/**
 * The SVG ladder diagram: labels present in the document, nothing external, and a
 * real rendering in headless Chromium (Debian's chromium; test/coursework/
 * install-chromium.sh installs it) whose screenshot must decode and show the
 * diagram's colours: participant boxes, the IKE arrowheads, the ESP runs, the notes,
 * the NAT box, and text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLadder } from '../../src/analysis/ladder.ts';
import { renderSvg } from '../../src/cli/diagram/svg.ts';
import { analyse, captureEntries, INSIDE, OUTSIDE } from './support.ts';
import { countColour, decodePng, distinctColours } from './png.ts';
import { CHROMIUM, chromiumScreenshot } from './chromium.ts';

let dir: string;
let outsideSvg: string;
let bothSvg: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-svg-'));
  const outside = await captureEntries(OUTSIDE);
  const inside = await captureEntries(INSIDE);
  const a = analyse([{ name: 'outside.pcap', entries: outside }]);
  outsideSvg = renderSvg(captureLadder(a.report, a.timeline));
  const b = analyse([
    { name: 'inside.pcap', entries: inside },
    { name: 'outside.pcap', entries: outside },
  ]);
  bothSvg = renderSvg(captureLadder(b.report, b.timeline));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The text content of every <text> element. */
const texts = (svg: string) => [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('SVG document', () => {
  it('holds every label of the outside.pcap ladder as text', () => {
    const t = texts(outsideSvg);
    for (const label of [
      'capture outside.pcap',
      'initiator (behind NAT)',
      'seen as 198.51.100.1',
      'responder',
      '198.51.100.2',
      'IKE_SA_INIT request',
      '198.51.100.1:29396 → 198.51.100.2:500',
      'IKE_SA_INIT response',
      'NAT-D: initiator behind NAT, responder not',
      'IKE floats to UDP 4500, behind the non-ESP marker',
      'IKE_AUTH request',
      '198.51.100.1:26329 → 198.51.100.2:4500',
      '10 × ESP-in-UDP spi 0x33edbb96 seq 1–10',
      '10 × ESP-in-UDP spi 0xd80bade7 seq 1–10',
      '5 × NAT-keepalive every 5.0 s',
      'INFORMATIONAL request',
      'INFORMATIONAL response',
      '0.000 s',
      '14.013 s',
      '35.150 s',
    ]) {
      expect(t, label).toContain(label);
    }
  });

  it('shows the NAT column and its translations for inside + outside', () => {
    const t = texts(bothSvg);
    for (const label of ['NAT', '198.51.100.1', '10.77.0.2', '10.77.0.2:500 ↦ 198.51.100.1:29396', '10.77.0.2:4500 ↦ 198.51.100.1:26329', '10.77.0.2:500 → 198.51.100.2:500']) {
      expect(t, label).toContain(label);
    }
  });

  it('is self-contained: no scripts, images, links, imports or external URLs', () => {
    for (const svg of [outsideSvg, bothSvg]) {
      expect(svg).not.toMatch(/<script|<image|<foreignObject|href=|@import|<link/i);
      expect([...svg.matchAll(/url\(([^)]*)\)/g)].every((m) => m[1]!.startsWith('#'))).toBe(true);
      expect([...svg.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
      expect(svg).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
  });

  it('escapes markup in labels', () => {
    const svg = renderSvg({
      title: 'a <b> & "c"',
      participants: [{ id: 'P0', kind: 'host', title: "x'y", subtitle: '<z>' }],
      rows: [{ kind: 'note', at: null, over: ['P0'], text: '1 < 2 & 3 > 2' }],
      omittedRows: 0,
    });
    expect(texts(svg)).toEqual(expect.arrayContaining(['a &lt;b&gt; &amp; &quot;c&quot;', 'x&#39;y', '&lt;z&gt;', '1 &lt; 2 &amp; 3 &gt; 2']));
  });
});

/** Renders an SVG file with headless Chromium and returns the decoded screenshot. */
function screenshot(name: string, svg: string) {
  const { res: r, png } = chromiumScreenshot(dir, name, `profile-${name}`, svg, 1200, 900);
  expect(r.status, r.stderr).toBe(0);
  expect(existsSync(png)).toBe(true);
  return decodePng(readFileSync(png));
}

describe.skipIf(!existsSync(CHROMIUM))('SVG in headless Chromium', () => {
  it('renders the outside.pcap ladder: boxes, arrows, ESP runs, notes and text are on the screenshot', () => {
    const p = screenshot('outside', outsideSvg);
    expect([p.width, p.height]).toEqual([1200, 900]);
    expect(distinctColours(p)).toBeGreaterThan(50);
    expect(countColour(p, '#ffffff')).toBeLessThan(p.width * p.height);
    expect(countColour(p, '#e3ecfa'), 'peer boxes').toBeGreaterThan(2000);
    expect(countColour(p, '#1f3a93'), 'IKE arrowheads').toBeGreaterThan(100);
    expect(countColour(p, '#1a7f37'), 'ESP runs').toBeGreaterThan(300);
    expect(countColour(p, '#fff8c4'), 'notes').toBeGreaterThan(2000);
    expect(countColour(p, '#fde2e2'), 'no NAT box from one capture').toBe(0);
    let dark = 0;
    for (let i = 0; i < p.rgba.length; i += 4) if (p.rgba[i]! + p.rgba[i + 1]! + p.rgba[i + 2]! < 150) dark++;
    expect(dark, 'text').toBeGreaterThan(1000);
  });

  it('renders the inside + outside ladder with the NAT box', () => {
    const p = screenshot('both', bothSvg);
    expect(countColour(p, '#fde2e2'), 'NAT box').toBeGreaterThan(2000);
    expect(countColour(p, '#e3ecfa'), 'peer boxes').toBeGreaterThan(4000);
  });
});
