/**
 * What the peers of one simulation tell each other behind the scenes, for explanations
 * only (never for protocol decisions): the NAT-D inputs each side hashed, which ESP
 * packet (SPI, sequence number) carried which traffic flow, and where the packets of
 * each flow were lost and why.
 */
import type { Micros } from '../core/time.ts';

/** The endpoints a side put into its NAT-D hashes ("10.0.0.2:500", or a note for a fake one). */
export interface NatdInputs {
  readonly source: string;
  readonly destination: string;
}

export interface LossRecord {
  /** Node or link where it happened. */
  readonly where: string;
  /** A network, NAT or ESP drop reason, or no-sa. */
  readonly reason: string;
  /** The first explanation seen. */
  readonly detail: string;
  readonly firstAt: Micros;
  lastAt: Micros;
  count: number;
}

interface EspSent {
  readonly flow: string | undefined;
  readonly peer: string;
}

export class TunnelLedger {
  private readonly natd = new Map<string, NatdInputs>();
  private readonly esp = new Map<string, EspSent>();
  private readonly losses = new Map<string, Map<string, LossRecord>>();

  /** `role` is the side that sent them: 'i' (in the IKE_SA_INIT request) or 'r' (in the response). */
  recordNatd(role: 'i' | 'r', spiIHex: string, inputs: NatdInputs): void {
    this.natd.set(`${role}:${spiIHex}`, inputs);
  }

  natdOf(role: 'i' | 'r', spiIHex: string): NatdInputs | undefined {
    return this.natd.get(`${role}:${spiIHex}`);
  }

  recordEsp(spi: number, seq: bigint | number, flow: string | undefined, peer: string): void {
    this.esp.set(espKey(spi, seq), { flow, peer });
  }

  espOf(spi: number, seq: bigint | number): EspSent | undefined {
    return this.esp.get(espKey(spi, seq));
  }

  recordLoss(flow: string, where: string, reason: string, detail: string, at: Micros): void {
    let m = this.losses.get(flow);
    if (!m) {
      m = new Map();
      this.losses.set(flow, m);
    }
    const k = `${where}|${reason}`;
    const r = m.get(k);
    if (r) {
      r.count++;
      r.lastAt = at;
    } else {
      m.set(k, { where, reason, detail, firstAt: at, lastAt: at, count: 1 });
    }
  }

  lossesOf(flow: string): LossRecord[] {
    return [...(this.losses.get(flow)?.values() ?? [])];
  }
}

function espKey(spi: number, seq: bigint | number): string {
  return `${spi >>> 0}:${Number(BigInt(seq) & 0xffffffffn)}`;
}
