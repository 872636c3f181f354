import { describe, expect, it } from 'vitest';
import { parseIp, parsePrefix } from '../../src/core/addr.ts';
import { IP_PROTOCOL } from '../../src/wire/ip-protocol.ts';
import { Firewall, ruleText, type FirewallRule } from '../../src/sim/firewall.ts';
import { Network } from '../../src/sim/network.ts';
import { buildIpPacket, buildUdpPacket, parsePacket } from '../../src/sim/packet.ts';
import { RecordingApp, udp } from './lab-kit.ts';

const u = (sp: number, dp: number, src = '198.51.100.1', dst = '10.0.0.2') =>
  parsePacket(buildUdpPacket({ src: parseIp(src), dst: parseIp(dst), srcPort: sp, dstPort: dp, payload: new Uint8Array(4) }));
const espInfo = parsePacket(buildIpPacket({ src: parseIp('198.51.100.1'), dst: parseIp('10.0.0.2'), protocol: IP_PROTOCOL.ESP, payload: Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 1) }));

describe('firewall rules', () => {
  const rules: FirewallRule[] = [
    { action: 'deny', direction: 'in', protocol: 'udp', dstPort: { from: 500, to: 500 }, src: parsePrefix('198.51.100.66/32') },
    { action: 'permit', protocol: 'udp', port: { from: 500, to: 500 } },
    { action: 'permit', protocol: 'udp', port: { from: 4500, to: 4500 } },
    { action: 'permit', direction: 'out', protocol: 'esp' },
    { action: 'deny', protocol: 'any' },
  ];

  it('the first matching rule decides, and each rule counts its hits', () => {
    const fw = new Firewall('edge', rules, 'permit');
    const verdicts = [
      fw.evaluate('in', u(500, 500, '198.51.100.66')),
      fw.evaluate('in', u(500, 500)),
      fw.evaluate('in', u(4500, 4500)),
      fw.evaluate('out', { ...espInfo, src: espInfo.dst, dst: espInfo.src }),
      fw.evaluate('in', espInfo),
      fw.evaluate('in', u(53, 53)),
    ].map((v) => [v.action, v.rule]);
    expect(verdicts).toEqual([
      ['deny', 0],
      ['permit', 1],
      ['permit', 2],
      ['permit', 3],
      ['deny', 4],
      ['deny', 4],
    ]);
    expect(fw.counters).toEqual({ rules: [1, 1, 1, 1, 2], defaultHits: 0, permitted: 3, denied: 3 });
  });

  it('the default action applies when nothing matches; comments name the rule', () => {
    const fw = new Firewall('edge', rules.slice(1, 3), 'deny');
    const v = fw.evaluate('in', espInfo);
    expect(v).toEqual({ action: 'deny', rule: -1, comment: 'firewall edge: denied inbound ESP 198.51.100.1 → 10.0.0.2 by the default action (deny)' });
    expect(fw.evaluate('in', u(1, 4500)).comment).toBe('firewall edge: permitted inbound UDP 198.51.100.1:1 → 10.0.0.2:4500 by rule 2 (permit any udp port 4500)');
    expect(fw.counters.defaultHits).toBe(1);
    expect(ruleText(rules[0]!)).toBe('deny in udp from 198.51.100.66/32 dport 500');
  });

  it('port rules never match ESP or a non-first fragment', () => {
    const fw = new Firewall('f', [{ action: 'permit', port: { from: 1, to: 65535 } }], 'deny');
    expect(fw.evaluate('in', espInfo).action).toBe('deny');
    expect(fw.evaluate('in', { ...u(500, 500), srcPort: undefined, dstPort: undefined, fragmentOffset: 8, fragment: true } as never).action).toBe('deny');
  });

  it('on a router, inside interfaces make traffic outbound', () => {
    const net = new Network({ seed: 1 });
    net.addHost('in', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.2/24'] }], routes: [{ to: 'default', via: '10.0.0.1' }] });
    net.addHost('out', { interfaces: [{ name: 'eth0', addresses: ['198.51.100.1/24'] }], routes: [{ to: 'default', via: '198.51.100.254' }] });
    net.addRouter('r', { interfaces: [{ name: 'lan', addresses: ['10.0.0.1/24'] }, { name: 'wan', addresses: ['198.51.100.254/24'] }] });
    net.connect('l', 'in.eth0', 'r.lan', { latency: 10 });
    net.connect('w', 'r.wan', 'out.eth0', { latency: 10 });
    const fw = new Firewall('r-fw', [
      { action: 'permit', direction: 'out', protocol: 'udp', dstPort: { from: 500, to: 500 } },
      { action: 'permit', direction: 'in', protocol: 'udp', srcPort: { from: 500, to: 500 } },
    ]);
    net.setFirewall('r', fw, ['lan']);
    const inApp = new RecordingApp();
    const outApp = new RecordingApp();
    net.attach('in', inApp);
    net.attach('out', outApp);
    net.send('in', udp('10.0.0.2:500', '198.51.100.1:500'));
    net.send('in', udp('10.0.0.2:4500', '198.51.100.1:4500'));
    net.send('out', udp('198.51.100.1:500', '10.0.0.2:500'));
    net.send('out', udp('198.51.100.1:4500', '10.0.0.2:4500'));
    net.run();
    expect(outApp.received).toHaveLength(1);
    expect(inApp.received).toHaveLength(1);
    expect(fw.counters).toEqual({ rules: [1, 1], defaultHits: 2, permitted: 2, denied: 2 });
    expect(net.node('r').counters.drops.firewall).toBe(2);
  });
});
