/**
 * The scenario `natt-sim simulate` runs when given none: a road warrior behind a home
 * PAT router talking to a VPN gateway on a public address, with pings through the
 * tunnel and NAT keepalives. Its expectations state what NAT traversal must look like.
 */
export const DEFAULT_SCENARIO_FILE = 'default.yaml';

export const DEFAULT_SCENARIO_YAML = `# Built-in scenario of natt-sim simulate: initiator behind a PAT, responder public.
name: default
description: Road warrior behind a home PAT router, VPN gateway on a public address
seed: 1
duration: 2m

topology:
  hosts:
    - name: laptop
      interfaces: [{ name: eth0, address: 192.168.1.20/24 }]
      routes: [{ to: default, via: 192.168.1.1 }]
    - name: gateway
      interfaces: [{ name: eth0, address: 198.51.100.1/24 }]
      routes: [{ to: default, via: 198.51.100.254 }]
  routers:
    - name: internet
      interfaces:
        - { name: isp, address: 203.0.113.1/24 }
        - { name: dc, address: 198.51.100.254/24 }
  nats:
    - name: home-router
      kind: pat
      interfaces:
        - { name: lan, address: 192.168.1.1/24 }
        - { name: wan, address: 203.0.113.7/24 }
      routes: [{ to: default, via: 203.0.113.1 }]
      inside: lan
      outside: wan
      ports: { assignment: random, range: 1024-65535 }
      timeouts: { udp: 60s }
  links:
    - { name: home-lan, a: laptop.eth0, b: home-router.lan, latency: 1ms }
    - { name: uplink, a: home-router.wan, b: internet.isp, latency: 15ms }
    - { name: dc-lan, a: gateway.eth0, b: internet.dc, latency: 1ms }

peers:
  - name: laptop
    host: laptop
    role: initiator
    remote: gateway
    psk: "natt-sim default"
    ids: { local: laptop@example.com, remote: vpn.example.com }
    proposals: { ike: aes128gcm16-prfsha256-ecp256, esp: aes128gcm16 }
    keepalive: 20s
  - name: gateway
    host: gateway
    role: responder
    remote: laptop
    psk: "natt-sim default"
    ids: { local: vpn.example.com, remote: laptop@example.com }
    proposals: { ike: aes128gcm16-prfsha256-ecp256, esp: aes128gcm16 }

traffic:
  - { name: ping, kind: ping, from: laptop, to: gateway, at: 5s, count: 5, interval: 1s }

taps:
  - { name: lan, link: home-lan }
  - { name: wan, link: uplink }

expectations:
  - { expect: established, peer: laptop, by: 1s }
  - { expect: nat-here, peer: laptop }
  - { expect: nat-there, peer: gateway }
  - { expect: floated, peer: laptop }
  - { expect: encapsulation, peer: laptop, value: udp }
  - { expect: keepalives, peer: laptop, count: { min: 4 }, interval: { min: 20s, max: 21s } }
  - { expect: delivered, traffic: ping, count: 5 }
`;
