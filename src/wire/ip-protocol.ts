/**
 * IANA "Assigned Internet Protocol Numbers": the IPv4 protocol field and the
 * IPv6 Next Header field share this registry.
 */
export const IP_PROTOCOL = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  /** IPv4 encapsulated in IP: the ESP next header of a tunnelled IPv4 packet. */
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  /** IPv6 encapsulated in IP: the ESP next header of a tunnelled IPv6 packet. */
  IPV6: 41,
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  IPV6_DEST_OPTS: 60,
} as const;
export type IpProtocol = (typeof IP_PROTOCOL)[keyof typeof IP_PROTOCOL];
