/** Configuration defaults and validation: every bad field is named in a ConfigError. */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/index.ts';
import { ConfigError, IkeEndpoint, parseIdentity, resolveEndpointConfig, resolvePeerConfig, type PeerConfig } from '../../src/ikev2/index.ts';
import { IdType } from '../../src/wire/ike/constants.ts';

const base: PeerConfig = { localAddrs: ['10.77.0.2'], remote: '198.51.100.2', psk: 'secret', localId: 'ini.lab' };

/** f throws a ConfigError whose whole message ("<field>: <reason>") is `message`. */
function expectConfigError(f: () => unknown, message: string): void {
  expect(f).toThrow(ConfigError);
  expect(f).toThrow(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
}

describe('defaults', () => {
  it('follow strongSwan', () => {
    const c = resolvePeerConfig(base);
    expect(c.ikeProposalText).toBe('aes128gcm16-prfsha256-x25519');
    expect(c.espProposalText).toBe('aes128gcm16');
    expect(c.keepaliveInterval).toBe(20_000_000);
    expect(c.dpdDelay).toBe(0);
    expect(c.rekey).toEqual({ ike: 0, child: 0, jitter: 0 });
    expect(c.retransmit).toEqual({ timeout: 4_000_000, base: 1.8, tries: 5 });
    expect(c.ports).toEqual({ ike: 500, natt: 4500 });
    expect(c.encap).toBe('auto');
    expect(c.floatAlways).toBe(false);
    expect(c.remote).toEqual({ addr: { family: 4, bytes: Uint8Array.of(198, 51, 100, 2) }, port: 500 });
    const e = resolveEndpointConfig({});
    expect([e.cookieThreshold, e.halfOpenTimeout, e.nonceLength]).toEqual([30, 30_000_000, 32]);
    expect([e.cookieCalmdown, e.blockThreshold, e.halfOpenLimit, e.cookieSecretUses, e.cookieSecretLifetime]).toEqual([10_000_000, 5, 0, 10_000, 60_000_000]);
  });

  it('take durations as microseconds or text', () => {
    const c = resolvePeerConfig({ ...base, keepaliveInterval: '5s', dpdDelay: 30_000_000, rekey: { child: '1h', ike: '4h', jitter: '90s' }, retransmit: { timeout: '500ms' } });
    expect([c.keepaliveInterval, c.dpdDelay, c.rekey.child, c.rekey.ike, c.rekey.jitter, c.retransmit.timeout]).toEqual([
      5_000_000, 30_000_000, 3_600_000_000, 14_400_000_000, 90_000_000, 500_000,
    ]);
  });

  it('parse identities the way strongSwan does', () => {
    expect(parseIdentity('ini.lab')).toMatchObject({ idType: IdType.FQDN, text: 'ini.lab' });
    expect(parseIdentity('@ini.lab')).toMatchObject({ idType: IdType.FQDN, text: 'ini.lab' });
    expect(parseIdentity('me@ini.lab')).toMatchObject({ idType: IdType.RFC822_ADDR });
    expect(parseIdentity('10.77.0.2')).toMatchObject({ idType: IdType.IPV4_ADDR, data: Uint8Array.of(10, 77, 0, 2) });
    expect(parseIdentity('2001:db8::1')?.idType).toBe(IdType.IPV6_ADDR);
    expect(parseIdentity('%any')).toBeUndefined();
  });
});

describe('validation', () => {
  it.each<[string, Partial<PeerConfig> | Record<string, unknown>, string]>([
    ['no local address', { localAddrs: [] }, 'peer.localAddrs: at least one local address is needed'],
    ['a bad local address', { localAddrs: ['10.77.0.300'] }, 'peer.localAddrs[0]: not an IP address: "10.77.0.300"'],
    ['a bad remote', { remote: 'rsp.lab' }, 'peer.remote: not an address or address:port: "rsp.lab"'],
    ['mixed families', { remote: '2001:db8::1' }, 'peer.remote: remote and local addresses are of different families'],
    ['an empty PSK', { psk: '' }, 'peer.psk: a pre-shared key is needed'],
    ['%any as local id', { localId: '%any' }, 'peer.localId: %any is not a valid local identity'],
    ['an unknown algorithm', { ikeProposals: 'aes128gcm16-prfsha256-x448' }, 'peer.ikeProposals: unknown algorithm "x448" in proposal "aes128gcm16-prfsha256-x448"'],
    ['an IKE proposal without DH', { ikeProposals: 'aes128gcm16-prfsha256' }, 'peer.ikeProposals: IKE proposal "aes128gcm16-prfsha256" names no Diffie-Hellman group'],
    ['a bad selector', { localTs: ['10.77.10.0/33'] }, 'peer.localTs[0]: not a traffic selector: "10.77.10.0/33" (e.g. "10.77.10.0/24" or "10.0.0.1")'],
    ['a bad encap mode', { encap: 'sometimes' }, 'peer.encap: expected "auto", "force" or "off", got "sometimes"'],
    ['a bad duration', { keepaliveInterval: 'often' }, 'peer.keepaliveInterval: not a duration: "often" (e.g. "20s", "250ms", "1h")'],
    ['a negative duration', { dpdDelay: -1 }, 'peer.dpdDelay: a duration in microseconds must be a non-negative integer, got -1'],
    ['jitter beyond rekey time', { rekey: { child: '10s', jitter: '10s' } }, 'peer.rekey.jitter: must be less than rekey.child'],
    ['a base below 1', { retransmit: { base: 0.5 } }, 'peer.retransmit.base: must be a number of at least 1, got 0.5'],
    ['fractional tries', { retransmit: { tries: 2.5 } }, 'peer.retransmit.tries: must be an integer 0..100, got 2.5'],
    ['a port out of range', { ports: { natt: 70000 } }, 'peer.ports.natt: a UDP port is 1..65535, got 70000'],
    ['equal ports', { ports: { ike: 4500 } }, 'peer.ports: the IKE and NAT-T ports must differ'],
  ])('rejects %s', (_what, over, message) => {
    expectConfigError(() => resolvePeerConfig({ ...base, ...over } as PeerConfig), message);
  });

  it('names the responder connection at fault and checks endpoint settings', () => {
    expectConfigError(() => resolveEndpointConfig({ peers: [base, { ...base, espProposals: 'aes128gcm16-sha256' }] }), 'peers[1].espProposals: proposal "aes128gcm16-sha256" combines an AEAD cipher with an integrity algorithm');
    expectConfigError(() => resolveEndpointConfig({ cookieThreshold: -1 }), 'cookieThreshold: must be a non-negative integer, got -1');
    expectConfigError(() => resolveEndpointConfig({ nonceLength: 8 }), 'nonceLength: RFC 7296 §3.9 allows 16..256 bytes, got 8');
  });

  it('initiate needs a remote and reports config errors before touching state', () => {
    const e = new IkeEndpoint({ rng: new SeededRng(1) });
    expectConfigError(() => e.initiate({ ...base, remote: undefined }, 0), 'peer.remote: the peer address is needed to initiate');
    expect(e.saIds()).toEqual([]);
    expect(e.pollTransmit()).toBeUndefined();
  });
});
