/**
 * Byte vectors for the IKEv2 codec tests, each with its source.
 *
 * "outside.pcap" is /work/shared/captures/strongswan-lab/a-nat-keepalive/outside.pcap
 * (strongSwan 6.0.6). Offsets are inside the IKE message (after UDP and any non-ESP
 * marker). "decrypted" vectors are SK contents as tshark 4.0 decrypts them with the
 * capture's published keys (wireshark/ikev2_decryption_table, or for the Openswan and
 * tcpdump captures keys/tcpdump-ikev2pI2.ikev2_decryption_table), padding removed.
 * Vectors "built from RFC ..." follow that RFC's figure for payloads that real
 * captures only carry encrypted under keys we do not have.
 */
import { fromHex } from '../../../src/core/bytes.ts';

export const OUTSIDE = 'strongswan-lab/a-nat-keepalive/outside.pcap';
export const IKEV2FOUR = 'tcpdump/ikev2four.pcap';
export const REDIRECT = 'scapy/ikev2_notify_redirect.pcap';
export const NAT_T = 'scapy/ikev2_nat_t.pcapng';
export const NDPI_ESP = 'ndpi/esp.pcapng';
export const PI2 = 'tcpdump/ikev2pI2.pcap';

/** outside.pcap frame 1, bytes 0..27: IKE_SA_INIT request header. */
export const HEADER_SA_INIT_REQUEST = fromHex(`
  8391f754f1670e3d  # SPIi
  0000000000000000  # SPIr (zero in the first request)
  21                # next payload: SA (33)
  20                # version 2.0
  22                # exchange: IKE_SA_INIT (34)
  08                # flags: I
  00000000          # message ID 0
  000000e8          # length 232
`);

/** outside.pcap frame 1, offset 28: SA with one IKE proposal (AES-GCM-16 128-bit, HMAC-SHA2-256, Curve25519). */
export const SA_IKE = fromHex(`
  22 00 0028                    # next: KE, not critical, length 40
  00 00 0024 01 01 00 03        # last proposal, length 36, #1, IKE, SPI size 0, 3 transforms
    03 00 000c 01 00 0014       #   more, length 12, ENCR, AES_GCM_16 (20)
      800e 0080                 #     TV attribute KEY_LENGTH = 128
    03 00 0008 02 00 0005       #   more, PRF, HMAC_SHA2_256 (5)
    00 00 0008 04 00 001f       #   last, KE, Curve25519 (31)
`);

/** tcpdump ikev2four.pcap frame 1, offset 28: SA with 12 transforms (tcpdump's ikev2four.out lists them). */
export const SA_TWELVE_TRANSFORMS = fromHex(`
  22 00 0078
  00 00 0074 01 01 00 0c
    03 00 000c 01 00 000c 800e 0080   # ENCR AES_CBC keylen 128
    03 00 000c 01 00 000c 800e 0100   # ENCR AES_CBC keylen 256
    03 00 000c 01 00 000c 800e 00c0   # ENCR AES_CBC keylen 192
    03 00 0008 01 00 0003             # ENCR 3DES
    03 00 0008 02 00 0002             # PRF HMAC_SHA1
    03 00 0008 02 00 0001             # PRF HMAC_MD5
    03 00 0008 02 00 0004             # PRF AES128_XCBC
    03 00 0008 03 00 0002             # INTEG HMAC_SHA1_96
    03 00 0008 03 00 0001             # INTEG HMAC_MD5_96
    03 00 0008 03 00 0005             # INTEG AES_XCBC_96
    03 00 0008 04 00 0002             # DH MODP_1024
    00 00 0008 04 00 000e             # DH MODP_2048
`);

/**
 * openswan/libpluto/lib-parentI2x509/parentI2psk.pcap frame 2, decrypted, offset 212:
 * SA with the critical bit set and four ESP proposals (SPI 12345678).
 */
export const SA_CRITICAL_FOUR_PROPOSALS = fromHex(`
  2c 80 0094                                   # next: TSi, CRITICAL, length 148
  02 00 0024 01 03 04 03 12345678              # more, #1, ESP, SPI size 4, 3 transforms
    03000008 0100000c  03000008 03000002  00000008 05000000   # AES_CBC, HMAC_SHA1_96, no ESN
  02 00 0024 02 03 04 03 12345678
    03000008 0100000c  03000008 03000002  00000008 05000000
  02 00 0024 03 03 04 03 12345678
    03000008 01000003  03000008 03000002  00000008 05000000   # 3DES
  00 00 0024 04 03 04 03 12345678
    03000008 01000003  03000008 03000002  00000008 05000000
`);

/** outside.pcap frame 1, offset 68: KE, Curve25519 (31), 32-byte public value. */
export const KE_X25519 = fromHex(`
  28 00 0028  001f 0000
  1924f69bbb3cebd9677b0805d0d50b59f09e5c1e6570b523bb58100f8f539732
`);

/** outside.pcap frame 1, offset 108: Nonce, 32 bytes. */
export const NONCE_32 = fromHex(`
  29 00 0024
  bd60b0ea1eadb739a98698650f06036597f762ea6f40d39ed1a60a98f4094e08
`);

/** tcpdump ikev2pI2.pcap frame 1, offset 472: Nonce with the critical bit set (Openswan), 16 bytes. */
export const NONCE_CRITICAL = fromHex(`2b 80 0014 b5ce8419095c6e2b6b62d3055305b3c4`);

/** outside.pcap frame 1, offset 144: N(NAT_DETECTION_SOURCE_IP); manifest.json: SHA1 over 10.77.0.2:500. */
export const NOTIFY_NATD_SOURCE = fromHex(`
  29 00 001c  00 00 4004
  95c3541c150ee9de466e89125e3493cf13429eb0
`);

/** outside.pcap frame 1, offset 208: N(SIGNATURE_HASH_ALGORITHMS) listing hashes 2, 3, 4, 5. */
export const NOTIFY_SIGNATURE_HASH = fromHex(`29 00 0010  00 00 402f  0002 0003 0004 0005`);

/** tcpdump ikev2four.pcap frame 2, offset 28: N(COOKIE); data as in ikev2four.out. */
export const NOTIFY_COOKIE = fromHex(`
  00 00 0020  00 00 4006
  00000001c2221e50c16e123f2b0c71aefcf0cb3b798782c6
`);

/**
 * scapy ikev2_notify_redirect.pcap frame 2, offset 28: N(REDIRECT) with protocol ID 1 (IKE)
 * and data: GW identity type 3 (FQDN), length 28, the name, then the echoed Ni.
 */
export const NOTIFY_REDIRECT = fromHex(`
  00 00 004e  01 00 4017
  03 1c 6d6f6e657962696e2e6475636b627572672e6469736e65792e636f6d
  4bf3ea6cd0c6afe702c567fe7db3ff973424bb5e9de6af123a41975a6ffb266e9c5b4c915795132b
`);

/** scapy ikev2_notify_redirect.pcap frame 4, offset 28: N(NO_PROPOSAL_CHOSEN), protocol 1, no data. */
export const NOTIFY_NO_PROPOSAL = fromHex(`00 00 0008  01 00 000e`);

/** Built from RFC 7296 §3.10 / §1.3.3: N(REKEY_SA) for ESP SPI d80bade7 (the SPI of outside.pcap's CHILD SA). */
export const NOTIFY_REKEY_SA_ESP = fromHex(`21 00 000c  03 04 4009  d80bade7`);

/** outside.pcap frame 3, decrypted, offset 0: IDi, FQDN "ini.lab". */
export const IDI_FQDN = fromHex(`29 00 000f  02 000000  696e692e6c6162`);
/** outside.pcap frame 4, decrypted, offset 0: IDr, FQDN "rsp.lab". */
export const IDR_FQDN = fromHex(`27 00 000f  02 000000  7273702e6c6162`);
/**
 * tcpdump ikev2-id-normal.pcap frame 1, offset 28: IDi IPV4_ADDR whose payload length (9) leaves one
 * data byte, as ikev2-id-normal.out prints it ("len=5 01000000de ipv4:de"); the message goes on past it.
 */
export const IDI_IPV4 = fromHex(`00 00 0009  01 000000  de`);

/** outside.pcap frame 3, decrypted, offset 38: AUTH, SHARED_KEY_MIC (2), 32-byte MAC. */
export const AUTH_PSK = fromHex(`
  21 00 0028  02 000000
  36ce2cd3eaae134acd2cff57623f1f952c5004a29c53f44c2a2e167ecf4697a2
`);

/** outside.pcap frame 3, decrypted, offset 114: TSi 10.77.10.0-10.77.10.255, any protocol, all ports. */
export const TSI_V4 = fromHex(`
  2d 00 0018  01 000000
  07 00 0010  0000 ffff  0a4d0a00  0a4d0aff
`);
/** outside.pcap frame 4, decrypted, offset 115: TSr 10.77.20.0/24, last payload. */
export const TSR_V4 = fromHex(`
  00 00 0018  01 000000
  07 00 0010  0000 ffff  0a4d1400  0a4d14ff
`);
/**
 * Built from RFC 7296 §3.13.1 and RFC 9478 §2: TSr with an IPv6 range (UDP, port 500 only,
 * 2001:db8::/64) and a TS_SECLABEL (type 10) selector carrying a 17-byte label.
 */
export const TS_V6_AND_SECLABEL = fromHex(`
  00 00 0045  02 000000
  08 11 0028  01f4 01f4
    20010db8000000000000000000000000
    20010db800000000ffffffffffffffff
  0a 00 0015  73656c696e75785f6c6162656c3a303a30  # "selinux_label:0:0" (17 bytes)
`);

/** outside.pcap frame 34, decrypted: Delete for the IKE SA (protocol 1, SPI size 0, no SPIs). */
export const DELETE_IKE = fromHex(`00 00 0008  01 00 0000`);
/** Built from RFC 7296 §3.11: Delete of two ESP SAs (the CHILD SA SPIs in outside.pcap's manifest). */
export const DELETE_ESP = fromHex(`00 00 0010  03 04 0002  33edbb96 d80bade7`);

/** tcpdump ikev2pI2.pcap frame 1, offset 492: Vendor ID "OErlA\nQukSR" (Openswan). */
export const VENDOR_OPENSWAN = fromHex(`00 00 0010  4f45726c415c6e51756b5352`);
/** ndpi/esp.pcapng frame 1, offset 239: Vendor ID "CISCOVPN-REV-02". */
export const VENDOR_CISCO_REV = fromHex(`2b 00 0013  434953434f56504e2d5245562d3032`);

/** scapy ikev2_nat_t.pcapng frame 2, offset 184: CERTREQ with encoding 4 (X.509 signature) and no authorities. */
export const CERTREQ_EMPTY = fromHex(`2b 00 0005 04`);
/** Built from RFC 7296 §3.7: CERTREQ, X.509, two 20-byte CA key hashes. */
export const CERTREQ_TWO_CAS = fromHex(`
  25 00 002d  04
  0102030405060708090a0b0c0d0e0f1011121314
  a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4
`);

/**
 * Built from RFC 7296 §3.6: CERT, encoding 4 (X.509 signature), data a DER SEQUENCE
 * header and a few content bytes standing in for a certificate.
 */
export const CERT_X509 = fromHex(`27 00 000f  04  3008 0201 02 0403 010203`);

/**
 * Built from RFC 7383 §2.5: SKF fragment 1 of 3, first inner payload IDi (35), body IV‖ciphertext‖ICV
 * (16 + 16 + 16 bytes of pattern).
 */
export const SKF_FIRST = fromHex(`
  23 00 0038  0001 0003
  000102030405060708090a0b0c0d0e0f
  101112131415161718191a1b1c1d1e1f
  f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
`);
/** Built from RFC 7383 §2.5: SKF fragment 3 of 3 (next payload 0 in non-first fragments). */
export const SKF_LAST = fromHex(`00 00 001c  0003 0003  a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 01020304`);

/**
 * Built from RFC 7296 §3.15 (and the example in §3.15.4): CFG_REQUEST asking for
 * INTERNAL_IP4_ADDRESS, INTERNAL_IP4_DNS and INTERNAL_IP6_ADDRESS with empty values.
 */
export const CP_REQUEST = fromHex(`
  21 00 0014  01 000000
  0001 0000   # INTERNAL_IP4_ADDRESS, length 0
  0003 0000   # INTERNAL_IP4_DNS, length 0
  0008 0000   # INTERNAL_IP6_ADDRESS, length 0
`);
/** Built from RFC 7296 §3.15.1: CFG_REPLY with INTERNAL_IP4_ADDRESS 10.77.10.1 and INTERNAL_IP4_DNS 192.0.2.53. */
export const CP_REPLY = fromHex(`
  21 00 0018  02 000000
  0001 0004 0a4d0a01
  0003 0004 c0000235
`);

/** Built from RFC 3748 §5.1 inside RFC 7296 §3.16: EAP-Request/Identity, identifier 1, no type data. */
export const EAP_REQUEST_IDENTITY = fromHex(`00 00 0009  01 01 0005 01`);
/** Built from RFC 3748 §5.1: EAP-Response/Identity "ini.lab", identifier 1. */
export const EAP_RESPONSE_IDENTITY = fromHex(`00 00 0010  02 01 000c 01 696e692e6c6162`);
/** Built from RFC 3748 §4.2: EAP-Success, identifier 2 (no Type byte). */
export const EAP_SUCCESS = fromHex(`00 00 0008  03 02 0004`);

/**
 * Built from RFC 7296 §2.5 / §3.2: a payload of private-use type 200 with the critical bit
 * set; the receiver must answer UNSUPPORTED_CRITICAL_PAYLOAD.
 */
export const UNKNOWN_CRITICAL = fromHex(`00 80 000a  0102 0304 0506`);
/** Built from RFC 6467 §3: a GSPM payload (type 49, not interpreted here), not critical, reserved bits 0x05. */
export const UNKNOWN_GSPM = fromHex(`29 05 0007  0b 0c 0d`);

/** Decrypted SK contents (payload chains, padding removed). */
export const DECRYPTED = {
  /** outside.pcap frame 3 (IKE_AUTH request): IDi N(INITIAL_CONTACT) IDr AUTH SA TSi TSr N N N; first payload IDi. */
  ikeAuthRequest: fromHex(`
    2900000f02000000696e692e6c6162 2400000800004000 2700000f020000007273702e6c6162
    210000280200000036ce2cd3eaae134acd2cff57623f1f952c5004a29c53f44c2a2e167ecf4697a2
    2c0000240000002001030402d80bade70300000c01000014800e00800000000805000000
    2d00001801000000070000100000ffff0a4d0a000a4d0aff 2900001801000000070000100000ffff0a4d14000a4d14ff
    2900000800004014 2900000800004021 0000000800004024
  `),
  /** outside.pcap frame 4 (IKE_AUTH response): IDr AUTH SA TSi TSr; first payload IDr. */
  ikeAuthResponse: fromHex(`
    2700000f020000007273702e6c6162
    21000028020000005271efaa0d07825cce206c783faef026e8896a25df0f39c3c73fdbffd9297f8a
    2c000024000000200103040233edbb960300000c01000014800e00800000000805000000
    2d00001801000000070000100000ffff0a4d0a000a4d0aff 0000001801000000070000100000ffff0a4d14000a4d14ff
  `),
  /** outside.pcap frame 34 (INFORMATIONAL request): D(IKE); first payload D. */
  deleteRequest: fromHex(`0000000801000000`),
};
