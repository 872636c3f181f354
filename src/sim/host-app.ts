/**
 * The seam between the lab network and whatever runs on a host (an IKE endpoint with
 * its ESP datapath, a traffic generator, a test probe). It mirrors the sans-I/O engine
 * contract: the network pushes packets and timeouts in, and drains what the
 * application wants to send and when it next wants to be woken.
 *
 *   network ──handlePacket(p, now)──▶ app        app ──pollTransmit()──▶ network
 *   network ──handleTimeout(now)────▶ app        app ──pollTimeout()───▶ network
 *
 * After every call into the application, and after `Network.wake(host)`, the network
 * drains `pollTransmit()` until undefined, sends each packet from the host, then asks
 * `pollTimeout()` and (re)arms one timer at that instant. An IKE endpoint plugs in
 * through a small adapter: UDP packets become `handleDatagram` with the observed
 * endpoints, ESP packets go to the datapath, and `Transmit`s become `HostTransmit`s.
 */
import type { Endpoint, IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';

interface TransmitCommon {
  /**
   * Plain words for capture comments ("IKE_SA_INIT request"); the taps on the path
   * show it. Without one, a description of the bytes is used.
   */
  readonly comment?: string;
  /** IPv4 DF bit; default: the host's setting (clear unless configured). */
  readonly dontFragment?: boolean;
}

/** A UDP datagram (IKE on 500/4500, ESP-in-UDP, keepalives, test traffic). */
export interface UdpTransmit extends TransmitCommon {
  readonly kind: 'udp';
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly payload: Uint8Array;
  /** Send a zero UDP checksum (IPv4 only; RFC 3948 §3.1.1 allows it for ESP-in-UDP). */
  readonly zeroChecksum?: boolean;
}

/** Raw ESP (IP protocol 50): `payload` starts with the SPI. */
export interface EspTransmit extends TransmitCommon {
  readonly kind: 'esp';
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly payload: Uint8Array;
}

/** ICMP or ICMPv6 (by address family): `message` is the whole ICMP message, checksum included. */
export interface IcmpTransmit extends TransmitCommon {
  readonly kind: 'icmp';
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly message: Uint8Array;
}

/**
 * A whole IP packet built by the application (e.g. the outer packet an ESP datapath
 * made); its source must be one of the host's addresses. The host routes it and
 * fragments it like any other packet it sends.
 */
export interface IpTransmit extends TransmitCommon {
  readonly kind: 'ip';
  readonly bytes: Uint8Array;
}

export type HostTransmit = UdpTransmit | EspTransmit | IcmpTransmit | IpTransmit;

interface ReceivedCommon {
  /** The interface it arrived on. */
  readonly iface: string;
  /** The whole (reassembled) IP packet. Views below point into it: copy what you keep. */
  readonly ip: Uint8Array;
  /** Plain-words note that travelled with the packet, if its sender gave one. */
  readonly comment?: string;
}

/** A UDP datagram as observed on arrival: `src` is what the NATs on the path made of the sender. */
export interface UdpReceived extends ReceivedCommon {
  readonly kind: 'udp';
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly payload: Uint8Array;
  readonly checksum: 'valid' | 'zero';
}

export interface EspReceived extends ReceivedCommon {
  readonly kind: 'esp';
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly payload: Uint8Array;
}

export interface IcmpReceived extends ReceivedCommon {
  readonly kind: 'icmp';
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly message: Uint8Array;
}

export type HostReceived = UdpReceived | EspReceived | IcmpReceived;

/** What runs on a host. All methods are called with the virtual time. */
export interface HostApplication {
  /** A packet addressed to one of the host's addresses arrived. Must not throw on bad input. */
  handlePacket(packet: HostReceived, now: Micros): void;
  /** The instant last returned by pollTimeout() was reached. */
  handleTimeout(now: Micros): void;
  /** The next packet to send, until undefined. */
  pollTransmit(): HostTransmit | undefined;
  /** The earliest instant the application wants handleTimeout(); undefined for none. */
  pollTimeout(): Micros | undefined;
}
