/**
 * IANA "Assigned Internet Protocol Numbers": the IPv4 protocol field and the
 * IPv6 Next Header field share this registry.
 */
export const IP_PROTOCOL = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  IPV6_DEST_OPTS: 60,
} as const;
export type IpProtocol = (typeof IP_PROTOCOL)[keyof typeof IP_PROTOCOL];
