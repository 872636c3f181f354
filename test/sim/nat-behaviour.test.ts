/**
 * RFC 4787 §4.1 (mapping) and §5 (filtering), table-driven. An internal endpoint X
 * first sends to Y1 = 198.51.100.1:4500; then four probes differ from Y1 in remote
 * address and/or port. Mapping: does X's packet to the probe reuse X's first external
 * endpoint? Filtering: does a packet from the probe to that external endpoint pass?
 */
import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint, type Endpoint } from '../../src/core/addr.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { NatDevice, type NatBehaviour, type NatConfig } from '../../src/sim/nat.ts';
import { buildUdpPacket, parsePacket } from '../../src/sim/packet.ts';

const X = parseEndpoint('10.0.0.2:4500');
const Y1 = '198.51.100.1:4500';
const PROBES = {
  'same address, same port': '198.51.100.1:4500',
  'same address, different port': '198.51.100.1:5000',
  'different address, same port': '198.51.100.2:4500',
  'different address, different port': '198.51.100.2:5000',
} as const;
type Probe = keyof typeof PROBES;

function nat(cfg: Partial<NatConfig>): NatDevice {
  return new NatDevice({ name: 'n', kind: 'pat', external: [parseEndpoint('203.0.113.1:0').addr], ...cfg }, new SeededRng(1));
}

function packet(src: Endpoint, dst: Endpoint): Uint8Array {
  return buildUdpPacket({ src: src.addr, dst: dst.addr, srcPort: src.port, dstPort: dst.port, payload: Uint8Array.of(1, 2, 3, 4) });
}

function sendOut(n: NatDevice, dst: string, now = 0): string {
  const r = n.outbound(packet(X, parseEndpoint(dst)), now);
  if (r.verdict !== 'forward') throw new Error(r.comment);
  const p = parsePacket(r.packet);
  return formatEndpoint({ addr: p.src, port: p.srcPort! });
}

function sendIn(n: NatDevice, src: string, ext: string, now = 1): boolean {
  return n.inbound(packet(parseEndpoint(src), parseEndpoint(ext)), now).verdict === 'forward';
}

/** Which probes reuse the first mapping (RFC 4787 §4.1). */
const MAPPING_REUSE: Record<NatBehaviour, Record<Probe, boolean>> = {
  'endpoint-independent': {
    'same address, same port': true,
    'same address, different port': true,
    'different address, same port': true,
    'different address, different port': true,
  },
  'address-dependent': {
    'same address, same port': true,
    'same address, different port': true,
    'different address, same port': false,
    'different address, different port': false,
  },
  'address-and-port-dependent': {
    'same address, same port': true,
    'same address, different port': false,
    'different address, same port': false,
    'different address, different port': false,
  },
};

/** Which probes pass the filter (RFC 4787 §5). */
const FILTER_PASS: Record<NatBehaviour, Record<Probe, boolean>> = {
  'endpoint-independent': {
    'same address, same port': true,
    'same address, different port': true,
    'different address, same port': true,
    'different address, different port': true,
  },
  'address-dependent': {
    'same address, same port': true,
    'same address, different port': true,
    'different address, same port': false,
    'different address, different port': false,
  },
  'address-and-port-dependent': {
    'same address, same port': true,
    'same address, different port': false,
    'different address, same port': false,
    'different address, different port': false,
  },
};

const BEHAVIOURS = Object.keys(MAPPING_REUSE) as NatBehaviour[];
const PROBE_NAMES = Object.keys(PROBES) as Probe[];

describe('RFC 4787 mapping × filtering', () => {
  for (const mapping of BEHAVIOURS) {
    for (const filtering of BEHAVIOURS) {
      describe(`mapping ${mapping}, filtering ${filtering}`, () => {
        for (const probe of PROBE_NAMES) {
          it(`${probe}: mapping ${MAPPING_REUSE[mapping][probe] ? 'reused' : 'new'}, inbound ${FILTER_PASS[filtering][probe] ? 'passes' : 'filtered'}`, () => {
            // Mapping: a fresh device per probe, so only Y1 and the probe were sent to.
            const m = nat({ mapping, filtering, portAssignment: 'sequential' });
            const first = sendOut(m, Y1);
            const again = sendOut(m, PROBES[probe]);
            expect(again === first).toBe(MAPPING_REUSE[mapping][probe]);
            expect(m.size).toBe(MAPPING_REUSE[mapping][probe] ? 1 : 2);

            // Filtering: X has sent only to Y1; the probe answers to X's external endpoint.
            const f = nat({ mapping, filtering, portAssignment: 'sequential' });
            const ext = sendOut(f, Y1);
            expect(sendIn(f, PROBES[probe], ext)).toBe(FILTER_PASS[filtering][probe]);
            const drops = f.counters.drops.filtered ?? 0;
            expect(drops).toBe(FILTER_PASS[filtering][probe] ? 0 : 1);
          });
        }
      });
    }
  }

  it('once X has sent to a probe, that probe passes address-and-port-dependent filtering', () => {
    const f = nat({ filtering: 'address-and-port-dependent' });
    const ext = sendOut(f, Y1);
    expect(sendIn(f, '198.51.100.2:5000', ext)).toBe(false);
    expect(sendOut(f, '198.51.100.2:5000')).toBe(ext);
    expect(sendIn(f, '198.51.100.2:5000', ext, 2)).toBe(true);
  });

  it('a filtered packet says why in plain words', () => {
    const f = nat({ filtering: 'address-dependent' });
    const ext = sendOut(f, Y1);
    const r = f.inbound(packet(parseEndpoint('198.51.100.9:4500'), parseEndpoint(ext)), 5);
    expect(r.verdict).toBe('drop');
    expect(r.comment).toBe(
      'NAT n: dropped inbound UDP 198.51.100.9:4500 → 203.0.113.1:4500: filtered (address-dependent filtering: 10.0.0.2:4500 has not sent to 198.51.100.9)',
    );
  });
});
