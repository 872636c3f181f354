/**
 * natt-sim initiator behind the NAT ↔ charon 5.9.8 responder, once per
 * proposal pair. charon is configured with that pair only, so the SAs can come
 * up only if natt-sim negotiates it and computes the same keys; tshark then
 * decrypts the captures with the keys natt-sim exported, which proves the key
 * files name the right algorithms too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Lab,
  NattPeer,
  cleanupStale,
  type CaptureSummary,
  type ExitInfo,
  type IkeSaStatus,
  type WiresharkRows,
} from './lab.ts';
import { FAST, charonResponderConf, closeLab, initiatorArgs, only, pingArgs, startNattInitiator, stopAndDecrypt } from './lib/natt-checks.ts';

interface Case {
  readonly name: string;
  readonly ike: string;
  readonly esp: string;
  /** What swanctl --list-sas --raw reports for the IKE_SA and the CHILD_SA. */
  readonly ikeSa: Partial<IkeSaStatus>;
  readonly childSa: Record<string, unknown>;
  /** natt-sim's suite names. */
  readonly ikeSuite: string;
  readonly espSuite: string;
  /** Wireshark labels in the exported rows. */
  readonly ikeRowLabels: readonly string[];
  readonly espRowLabels: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'AES-CBC-128 + HMAC-SHA2-256, MODP-2048',
    ike: 'aes128-sha256-modp2048',
    esp: 'aes128-sha256',
    ikeSa: { encrAlg: 'AES_CBC', encrKeysize: 128, integAlg: 'HMAC_SHA2_256_128', prfAlg: 'PRF_HMAC_SHA2_256', dhGroup: 'MODP_2048' },
    childSa: { encrAlg: 'AES_CBC', encrKeysize: 128, integAlg: 'HMAC_SHA2_256_128' },
    ikeSuite: 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
    espSuite: 'ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ',
    ikeRowLabels: ['"AES-CBC-128 [RFC3602]"', '"HMAC_SHA2_256_128 [RFC4868]"'],
    espRowLabels: ['"AES-CBC [RFC3602]"', '"HMAC-SHA-256-128 [RFC4868]"'],
  },
  {
    name: 'AES-GCM-16-128, PRF-HMAC-SHA2-256, x25519',
    ike: 'aes128gcm16-prfsha256-x25519',
    esp: 'aes128gcm16',
    ikeSa: { encrAlg: 'AES_GCM_16', encrKeysize: 128, integAlg: undefined, prfAlg: 'PRF_HMAC_SHA2_256', dhGroup: 'CURVE_25519' },
    childSa: { encrAlg: 'AES_GCM_16', encrKeysize: 128, integAlg: undefined },
    ikeSuite: 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519',
    espSuite: 'ESP:AES_GCM_16_128/NO_EXT_SEQ',
    ikeRowLabels: ['"AES-GCM-128 with 16 octet ICV [RFC5282]"', '"NONE [RFC4306]"'],
    espRowLabels: ['"AES-GCM with 16 octet ICV [RFC4106]"', '"NULL"'],
  },
];

beforeAll(async () => {
  await cleanupStale();
});

describe.each(CASES)('natt-sim ↔ charon through the NAT with $name', (c) => {
  let lab: Lab;
  let ini: NattPeer;
  let rspSa: IkeSaStatus;
  let exit: ExitInfo;
  let rows: WiresharkRows;
  let outside: CaptureSummary;
  let inside: CaptureSummary;

  beforeAll(async () => {
    lab = await Lab.create({ nat: true });
    const [inCap, outCap] = [await lab.startCapture('inside'), await lab.startCapture('outside')];
    const rsp = await lab.startCharon('rsp', { swanctlConf: charonResponderConf({ proposals: c.ike, espProposals: c.esp }) });
    ini = startNattInitiator(lab, [...initiatorArgs(), '--ike-proposal', c.ike, '--esp-proposal', c.esp, ...pingArgs('200ms'), ...FAST]);
    // Without --duration natt-sim deletes the SA right after the pings: look while it is up.
    await ini.waitFor('child-installed');
    rspSa = only(await rsp.listSas());
    exit = await ini.exited;
    const d = await stopAndDecrypt(lab, ini, inCap, outCap);
    rows = d.rows;
    outside = d.outside.summary;
    inside = d.inside.summary;
  });

  afterAll(async () => {
    await closeLab(lab);
  });

  it('charon: IKE_SA ESTABLISHED and CHILD_SA INSTALLED (encap) with exactly these algorithms', () => {
    expect(rspSa).toMatchObject({ state: 'ESTABLISHED', natRemote: true, ...c.ikeSa });
    expect(only(rspSa.children)).toMatchObject({ state: 'INSTALLED', encap: true, ...c.childSa });
  });

  it('natt-sim: reports the same suites, and the pings are answered', () => {
    expect(only(ini.of('sa-established'))).toMatchObject({ suite: c.ikeSuite, spiI: rspSa.spiI, spiR: rspSa.spiR });
    expect(only(ini.of('child-installed'))).toMatchObject({ suite: c.espSuite });
    expect(only(ini.of('ping-summary'))).toMatchObject({ transmitted: 3, received: 3 });
    expect(ini.of('ping-reply').every((r) => (r.rttUs as number) > 0)).toBe(true);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('tshark decrypts IKE and ESP on both sides of the NAT with natt-sim\'s key rows', () => {
    const ike = only(rows.ikev2);
    for (const l of c.ikeRowLabels) expect(ike).toContain(l);
    expect(rows.esp).toHaveLength(2);
    for (const r of rows.esp) for (const l of c.espRowLabels) expect(r).toContain(l);
    for (const s of [outside, inside]) {
      expect(s).toMatchObject({ esp: 6, espIcvGood: 6, espIcvBad: 0, espEchoRequests: 3, espEchoReplies: 3, ikeAuthDecrypted: 2, rawEsp: 0 });
      expect(s.ikeDecrypted).toBe(s.ike - 2);
    }
  });
});
