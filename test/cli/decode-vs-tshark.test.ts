/**
 * natt-sim's decode against tshark 4.0's dissection of the same frames, for every
 * reference capture. tshark's view is stored in test/fixtures/tshark/decode-*.tsv
 * (regenerate with `npm run fixtures:tshark`), so this test needs no tshark.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPacketsSync } from '../../src/pcap/reader.ts';
import { Dissector } from '../../src/analysis/dissect.ts';
import { packetJson } from '../../src/cli/render-packet.ts';

const FIX = resolve(import.meta.dirname, '../fixtures/tshark');
const CAPS = resolve(import.meta.dirname, '../../../shared/captures');

interface TsharkRow {
  [field: string]: string;
}

function loadDump(file: string): { capture: string; rows: TsharkRow[] } {
  const lines = readFileSync(join(FIX, file), 'utf8').split('\n');
  const capture = lines[0]!.replace(/^# tshark [^:]+: /, '');
  const fields = lines[1]!.split('\t');
  const rows = lines
    .slice(2)
    .filter((l) => l.length)
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v])) as TsharkRow);
  return { capture, rows };
}

const list = (s: string | undefined): number[] => (s ? s.split(',').map((x) => Number(x)) : []);

interface IkeJson {
  version: number;
  spiI: string;
  spiR: string;
  exchangeType: number;
  flags: number;
  messageId: number;
  payloads?: number[];
  notifies?: number[];
}

const dumps = readdirSync(FIX).filter((f) => f.startsWith('decode-') && f.endsWith('.tsv'));

describe('decode agrees with tshark on the reference captures', () => {
  it('has a dump for every reference capture', () => {
    expect(dumps.length).toBeGreaterThanOrEqual(45);
  });

  let compared = { ike: 0, payloadLists: 0, esp: 0, keepalive: 0, marker: 0 };

  for (const file of dumps) {
    const { capture, rows } = loadDump(file);
    it(capture, () => {
      const path = join(CAPS, capture);
      expect(existsSync(path)).toBe(true);
      const dissector = new Dissector();
      const ours = new Map<number, Record<string, unknown>>();
      for (const rec of readPacketsSync(new Uint8Array(readFileSync(path)))) ours.set(rec.index, packetJson(dissector.dissect(rec)));
      for (const row of rows) {
        const n = Number(row['frame.number']);
        const j = ours.get(n);
        expect(j, `frame ${n} decoded`).toBeDefined();
        const ctx = `${capture} frame ${n}`;
        if (row['isakmp.ispi']) {
          const ike = j!.ike as IkeJson | undefined;
          expect(ike, `${ctx}: IKE header`).toBeDefined();
          expect(ike!.spiI, ctx).toBe(row['isakmp.ispi']);
          expect(ike!.spiR, ctx).toBe(row['isakmp.rspi']);
          // tshark leaves the exchange type out for a header it cannot place (isakmp-delete-segfault).
          if (row['isakmp.exchangetype']) expect(ike!.exchangeType, ctx).toBe(Number(row['isakmp.exchangetype']));
          expect(ike!.flags, ctx).toBe(Number(row['isakmp.flags']));
          expect(ike!.messageId, ctx).toBe(Number(row['isakmp.messageid']));
          compared.ike++;
          // Payload chains: tshark lists proposals (2) and transforms (3) inside SA payloads; the
          // top-level chain is the rest. Compared where neither side found the message malformed.
          if (!row['_ws.malformed'] && !j!.error && ike!.payloads) {
            expect(ike!.payloads, `${ctx}: payload types`).toEqual(list(row['isakmp.typepayload']).filter((t) => t !== 2 && t !== 3));
            expect(ike!.notifies, `${ctx}: notify types`).toEqual(list(row['isakmp.notify.msgtype']));
            compared.payloadLists++;
          }
        }
        if (row['esp.spi']) {
          const esp = j!.esp as { spi: string; sequence: number | null } | undefined;
          expect(esp, `${ctx}: ESP`).toBeDefined();
          expect(Number(esp!.spi), ctx).toBe(Number(row['esp.spi']));
          expect(esp!.sequence, ctx).toBe(row['esp.sequence'] ? Number(row['esp.sequence']) : null);
          expect(j!.encap, ctx).toBe(row['udp.srcport'] ? 'udp' : 'none');
          compared.esp++;
        }
        if (row['udpencap.nat_keepalive']) {
          expect(j!.kind, ctx).toBe('keepalive');
          compared.keepalive++;
        }
        if (row['udpencap.non_esp_marker']) {
          expect(j!.encap, ctx).toBe('nonesp');
          compared.marker++;
        }
        // And the converse: nothing classified by us that tshark saw as something else.
        if (j!.kind === 'keepalive') expect(row['udpencap.nat_keepalive'], ctx).not.toBe('');
        if (j!.kind === 'esp' && !row['esp.spi']) throw new Error(`${ctx}: we saw ESP, tshark did not`);
      }
    });
  }

  it('compared a meaningful number of frames', () => {
    // Guards against the fixtures silently losing their content.
    expect(compared.ike).toBeGreaterThan(60);
    expect(compared.payloadLists).toBeGreaterThan(45);
    expect(compared.esp).toBeGreaterThan(80);
    expect(compared.keepalive).toBeGreaterThanOrEqual(9);
    expect(compared.marker).toBeGreaterThanOrEqual(10);
  });
});
