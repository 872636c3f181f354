/**
 * Per-SA counters in the vocabulary of Cisco IOS `show crypto ipsec sa`, and a
 * renderer that prints them in that command's shape: the interface / crypto map
 * header, the identities and current peer, the counters block, the crypto
 * endpoints and MTUs, then the inbound and outbound ESP SAs with their SPI,
 * transform, "in use settings", SA timing, IV size and replay detection.
 *
 * What each counter means here:
 *  - encaps: packets ESP-encapsulated and sent; encrypt: of those, encrypted (not
 *    NULL encryption); digest: of those, given an ICV (an integrity algorithm or AEAD).
 *  - decaps: packets decapsulated and delivered; decrypt: packets whose ciphertext
 *    was decrypted; verify: packets whose ICV verified (a packet can verify and still
 *    be dropped for bad padding, so verify >= decaps).
 *  - send errors / recv errors: every packet dropped on that side, whatever the cause;
 *    the detail counters below say which cause.
 */
import { formatIp, type Endpoint, type IpAddress, type Prefix } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { EncrId, IntegId, encrInfo, type CipherSuite } from '../crypto/algorithms.ts';

export interface SaCounters {
  encaps: number;
  encrypt: number;
  digest: number;
  decaps: number;
  decrypt: number;
  verify: number;
  /** No IPComp here: always 0, printed because the real output has the line. */
  compressed: number;
  decompressed: number;
  sendErrors: number;
  recvErrors: number;
  /** Anti-replay rejections: duplicates and numbers left of the window (#pkts replay failed). */
  replayFailures: number;
  /** ICV did not verify (#pkts verify failed). */
  authFailures: number;
  /** Packet too short for the suite, or ciphertext not whole blocks (#pkts invalid len). */
  invalidLength: number;
  /** Padding not 1, 2, 3, ... or pad length past the start. */
  badPadding: number;
  /** Next header neither 4 (IPv4), 41 (IPv6) nor 59 (dummy) in tunnel mode (#pkts invalid prot). */
  badNextHeader: number;
  /** Inner packet did not decode, or the packet handed to protect() was not IP. */
  badInner: number;
  /** TFC dummy packets (next header 59) received and discarded (RFC 4303 §2.6). */
  dummy: number;
  /** Outbound packets dropped because they exceed the path MTU. */
  mtuDrops: number;
  /** Outer fragments created when the SA allows fragmentation. */
  fragmentsCreated: number;
  /** Sends refused because the sequence number would wrap (#pkts replay rollover (send)). */
  sequenceExhausted: number;
  /** Suite the Node build cannot run (e.g. 3DES without the legacy provider). */
  unsupported: number;
  /** Inner-packet bytes protected / delivered. */
  bytesOut: number;
  bytesIn: number;
}

export function newSaCounters(): SaCounters {
  return {
    encaps: 0,
    encrypt: 0,
    digest: 0,
    decaps: 0,
    decrypt: 0,
    verify: 0,
    compressed: 0,
    decompressed: 0,
    sendErrors: 0,
    recvErrors: 0,
    replayFailures: 0,
    authFailures: 0,
    invalidLength: 0,
    badPadding: 0,
    badNextHeader: 0,
    badInner: 0,
    dummy: 0,
    mtuDrops: 0,
    fragmentsCreated: 0,
    sequenceExhausted: 0,
    unsupported: 0,
    bytesOut: 0,
    bytesIn: 0,
  };
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addCounters(a: SaCounters, b: Readonly<SaCounters>): SaCounters {
  for (const k of Object.keys(a) as Array<keyof SaCounters>) a[k] += b[k];
  return a;
}

export function sumCounters(list: ReadonlyArray<Readonly<SaCounters>>): SaCounters {
  const out = newSaCounters();
  for (const c of list) addCounters(out, c);
  return out;
}

/** Drops that happen before an SA is known (no SA to charge them to). */
export interface ProcessorCounters {
  /** ESP with an SPI not in the SAD (#pkts invalid sa (rcv)). */
  invalidSpi: number;
  /** ESP shorter than SPI and sequence number. */
  truncated: number;
  /** An outer packet that did not decode as IPv4/IPv6/UDP. */
  badOuter: number;
  /** ESP-in-UDP with a wrong (or, over IPv6, absent) UDP checksum. */
  badUdpChecksum: number;
  /** Outer fragments handed in without reassembly. */
  outerFragments: number;
  /** Packets to send with no outbound SA (#pkts no sa (send)). */
  noSa: number;
}

export function newProcessorCounters(): ProcessorCounters {
  return { invalidSpi: 0, truncated: 0, badOuter: 0, badUdpChecksum: 0, outerFragments: 0, noSa: 0 };
}

// ---------------------------------------------------------------- rendering

/** Cisco transform-set words for a suite: "esp-gcm 128", "esp-aes 256 esp-sha256-hmac", "esp-3des esp-md5-hmac". */
export function ciscoTransformName(suite: CipherSuite): string {
  let encr: string;
  switch (suite.encr) {
    case EncrId.AES_GCM_16:
      encr = `esp-gcm ${suite.keyBits}`;
      break;
    case EncrId.AES_CBC:
      encr = `esp-aes ${suite.keyBits}`;
      break;
    case EncrId.DES3:
      encr = 'esp-3des';
      break;
    case EncrId.NULL:
      encr = 'esp-null';
      break;
  }
  const integ: Record<IntegId, string> = {
    [IntegId.NONE]: '',
    [IntegId.HMAC_MD5_96]: 'esp-md5-hmac',
    [IntegId.HMAC_SHA1_96]: 'esp-sha-hmac',
    [IntegId.HMAC_SHA2_256_128]: 'esp-sha256-hmac',
    [IntegId.HMAC_SHA2_384_192]: 'esp-sha384-hmac',
    [IntegId.HMAC_SHA2_512_256]: 'esp-sha512-hmac',
  };
  const i = integ[suite.integ];
  return i === '' ? encr : `${encr} ${i}`;
}

export interface EspSaView {
  readonly spi: number;
  readonly suite: CipherSuite;
  readonly udpEncaps: boolean;
  readonly connId: number;
  /** Remaining lifetime; undefined prints as the unlimited value. */
  readonly remainingKb?: number | undefined;
  readonly remainingSec?: number | undefined;
  readonly replayDetection: boolean;
  /** Replay window size when replay detection is on. */
  readonly replayWindow?: number | undefined;
  /** "ACTIVE", or e.g. "ACTIVE(rekeyed)" for an inbound SA kept after a rekey. */
  readonly status: string;
}

export interface ShowCryptoIpsecSaView {
  readonly interfaceName: string;
  readonly cryptoMapTag: string;
  readonly localAddr: IpAddress;
  readonly localIdent?: Prefix | undefined;
  readonly remoteIdent?: Prefix | undefined;
  /** The peer and the port IKE talks to it on (4500 once floated). */
  readonly currentPeer: Endpoint;
  readonly counters: Readonly<SaCounters>;
  /** Processor-level count of ESP for unknown SPIs (shown as #pkts invalid sa (rcv)). */
  readonly invalidSpi?: number | undefined;
  readonly localCryptoEndpoint: IpAddress;
  readonly remoteCryptoEndpoint: IpAddress;
  readonly plaintextMtu: number;
  readonly pathMtu: number;
  readonly ipMtu: number;
  readonly currentOutboundSpi?: number | undefined;
  /** e.g. "none", "group14". */
  readonly dhGroup?: string | undefined;
  readonly inbound: readonly EspSaView[];
  readonly outbound: readonly EspSaView[];
}

function hexSpi(spi: number): string {
  return `0x${(spi >>> 0).toString(16).toUpperCase().padStart(8, '0')}(${spi >>> 0})`;
}

/** Cisco prints identities as address/mask/protocol/port. */
function ident(p: Prefix | undefined, family: 4 | 6): string {
  if (!p) return family === 4 ? '(0.0.0.0/0.0.0.0/0/0)' : '(::/0/0/0)';
  if (p.addr.family === 6) return `(${formatIp(p.addr)}/${p.length}/0/0)`;
  const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
  const m = [mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff].join('.');
  return `(${formatIp(p.addr)}/${m}/0/0)`;
}

/** Seconds of SA lifetime left; "sa timing" needs it as an integer. */
export function remainingSeconds(createdAt: Micros, lifetimeSeconds: number | undefined, now: Micros): number | undefined {
  if (lifetimeSeconds === undefined) return undefined;
  return Math.max(0, lifetimeSeconds - Math.floor((now - createdAt) / 1_000_000));
}

function espSaLines(sa: EspSaView, mapTag: string): string[] {
  const e = encrInfo(sa.suite.encr);
  const kb = sa.remainingKb === undefined ? 4608000 : sa.remainingKb;
  const sec = sa.remainingSec === undefined ? 3600 : sa.remainingSec;
  return [
    `      spi: ${hexSpi(sa.spi)}`,
    `        transform: ${ciscoTransformName(sa.suite)} ,`,
    `        in use settings ={${sa.udpEncaps ? 'Tunnel UDP-Encaps' : 'Tunnel'}, }`,
    `        conn id: ${sa.connId}, flow_id: SW:${sa.connId}, sibling_flags 80000040, crypto map: ${mapTag}`,
    `        sa timing: remaining key lifetime (k/sec): (${kb}/${sec})`,
    `        IV size: ${e.ivLength} bytes`,
    `        replay detection support: ${sa.replayDetection ? 'Y' : 'N'}${sa.replayDetection && sa.replayWindow ? `  replay window size: ${sa.replayWindow}` : ''}`,
    `        Status: ${sa.status}`,
    '',
  ];
}

/** The text block of `show crypto ipsec sa` for one peer. */
export function formatShowCryptoIpsecSa(v: ShowCryptoIpsecSaView): string {
  const c = v.counters;
  const family = v.localAddr.family;
  const lines = [
    '',
    `interface: ${v.interfaceName}`,
    `    Crypto map tag: ${v.cryptoMapTag}, local addr ${formatIp(v.localAddr)}`,
    '',
    '   protected vrf: (none)',
    `   local  ident (addr/mask/prot/port): ${ident(v.localIdent, family)}`,
    `   remote ident (addr/mask/prot/port): ${ident(v.remoteIdent, family)}`,
    `   current_peer ${formatIp(v.currentPeer.addr)} port ${v.currentPeer.port}`,
    '     PERMIT, flags={origin_is_acl,}',
    `    #pkts encaps: ${c.encaps}, #pkts encrypt: ${c.encrypt}, #pkts digest: ${c.digest}`,
    `    #pkts decaps: ${c.decaps}, #pkts decrypt: ${c.decrypt}, #pkts verify: ${c.verify}`,
    `    #pkts compressed: ${c.compressed}, #pkts decompressed: ${c.decompressed}`,
    '    #pkts not compressed: 0, #pkts compr. failed: 0',
    '    #pkts not decompressed: 0, #pkts decompress failed: 0',
    `    #send errors ${c.sendErrors}, #recv errors ${c.recvErrors}`,
    `    #pkts invalid sa (rcv) ${v.invalidSpi ?? 0}, #pkts invalid prot (recv) ${c.badNextHeader}`,
    `    #pkts verify failed: ${c.authFailures}, #pkts invalid len (rcv) ${c.invalidLength}`,
    `    #pkts replay rollover (send): ${c.sequenceExhausted}, #pkts replay failed (rcv): ${c.replayFailures}`,
    `    #pkts bad padding (rcv): ${c.badPadding}, #pkts mtu exceeded (send): ${c.mtuDrops}`,
    '',
    `     local crypto endpt.: ${formatIp(v.localCryptoEndpoint)}, remote crypto endpt.: ${formatIp(v.remoteCryptoEndpoint)}`,
    `     plaintext mtu ${v.plaintextMtu}, path mtu ${v.pathMtu}, ip mtu ${v.ipMtu}, ip mtu idb ${v.interfaceName}`,
    `     current outbound spi: ${v.currentOutboundSpi === undefined ? '0x0(0)' : hexSpi(v.currentOutboundSpi)}`,
    `     PFS (Y/N): ${v.dhGroup && v.dhGroup !== 'none' ? 'Y' : 'N'}, DH group: ${v.dhGroup ?? 'none'}`,
    '',
    '     inbound esp sas:',
    ...v.inbound.flatMap((s) => espSaLines(s, v.cryptoMapTag)),
    '     inbound ah sas:',
    '',
    '     inbound pcp sas:',
    '',
    '     outbound esp sas:',
    ...v.outbound.flatMap((s) => espSaLines(s, v.cryptoMapTag)),
    '     outbound ah sas:',
    '',
    '     outbound pcp sas:',
    '',
  ];
  return lines.join('\n');
}
