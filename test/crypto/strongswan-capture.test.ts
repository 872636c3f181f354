/**
 * The real check against strongSwan 6.0.6:
 * /work/shared/captures/strongswan-lab/a-nat-keepalive/outside.pcap with the keys
 * charon logged (keys.json) and the scenario ground truth (manifest.json).
 * Frames: 1 IKE_SA_INIT request, 2 response, 3 IKE_AUTH request (UDP 4500,
 * non-ESP marker), 4 IKE_AUTH response, 5 first ESP ini->rsp (ICMP echo request),
 * 6 first ESP rsp->ini (echo reply).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  PrfId,
  decryptSk,
  deriveChildKeys,
  encryptSk,
  espAlignment,
  espOpen,
  espSeal,
  espStripTrailer,
  ikeKeySizes,
  openSkMessage,
  pskAuth,
  sealSkMessage,
  splitSkMessage,
} from '../../src/crypto/index.ts';
import { ikeFrame, inFrame, udpDatagrams } from '../helpers/capture-udp.ts';
import { findPayload, messagePayloads, payloadChain } from '../helpers/ike-chain.ts';

const DIR = '/work/shared/captures/strongswan-lab/a-nat-keepalive';

interface KeysJson {
  ikev2: Array<{ SK_ei: string; SK_er: string; SK_d: string; SK_pi: string; SK_pr: string; spi_i: string; spi_r: string }>;
  esp: Array<{ spi: string; direction: string; enc_key: string }>;
}
interface ManifestJson {
  ground_truth: { psk: string; ids: { initiator: string; responder: string } };
}

const keys = JSON.parse(readFileSync(`${DIR}/keys.json`, 'utf8')) as KeysJson;
const manifest = JSON.parse(readFileSync(`${DIR}/manifest.json`, 'utf8')) as ManifestJson;
const OUTSIDE = `${DIR}/outside.pcap`;
const frames = udpDatagrams(OUTSIDE);
const ike = keys.ikev2[0]!;
const suite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE } as const;
const skEi = fromHex(ike.SK_ei);
const skEr = fromHex(ike.SK_er);

const PT = { SA: 33, KE: 34, IDi: 35, IDr: 36, AUTH: 39, Nonce: 40, SK: 46 } as const;

const initRequest = ikeFrame(OUTSIDE, 1);
const initResponse = ikeFrame(OUTSIDE, 2);
const authRequest = ikeFrame(OUTSIDE, 3);
const authResponse = ikeFrame(OUTSIDE, 4);
const ni = findPayload(messagePayloads(initRequest), PT.Nonce).body;
const nr = findPayload(messagePayloads(initResponse), PT.Nonce).body;

function open(message: Uint8Array, key: Uint8Array) {
  const r = openSkMessage({ suite, keyE: key, message, skOffset: 28 });
  if (!r.ok) throw new Error(`frame does not decrypt: ${r.message}`);
  return r;
}

describe('strongSwan IKE_AUTH (AES-GCM-16-128 SK payload, RFC 5282)', () => {
  it('the capture frames are what the manifest says', () => {
    expect(toHex(initRequest.subarray(0, 8))).toBe(ike.spi_i);
    expect(authRequest[18]).toBe(35); // exchange type IKE_AUTH
    expect(authRequest[16]).toBe(PT.SK);
    expect(authRequest.length).toBe(243);
    expect(authResponse.length).toBe(196);
    expect(inFrame(frames, 3, OUTSIDE).dstPort).toBe(4500);
  });

  it('key sizes for AES_GCM_16_128 / PRF_HMAC_SHA2_256 match what charon derived', () => {
    const sizes = ikeKeySizes(PrfId.HMAC_SHA2_256, suite);
    expect(sizes.encrKeyLength).toBe(skEi.length);
    expect(sizes.prfKeyLength).toBe(fromHex(ike.SK_d).length);
    expect(sizes.integKeyLength).toBe(0);
  });

  it('decrypts the request: first inner payload IDi, ID "ini.lab" and "rsp.lab", then AUTH, SA, TSi, TSr', () => {
    const r = open(authRequest, skEi);
    expect(r.firstInnerPayload).toBe(PT.IDi);
    const chain = payloadChain(r.plaintext, r.firstInnerPayload!);
    expect(chain.map((p) => p.type)).toEqual([35, 41, 36, 39, 33, 44, 45, 41, 41, 41]);
    const idi = findPayload(chain, PT.IDi).body;
    const idr = findPayload(chain, PT.IDr).body;
    expect(idi[0]).toBe(2); // ID_FQDN
    expect(Buffer.from(idi.subarray(4)).toString()).toBe(manifest.ground_truth.ids.initiator);
    expect(Buffer.from(idr.subarray(4)).toString()).toBe(manifest.ground_truth.ids.responder);
    expect(r.padding.length).toBe(0);
  });

  it('decrypts the response: IDr "rsp.lab", AUTH, SA, TSi, TSr', () => {
    const r = open(authResponse, skEr);
    expect(r.firstInnerPayload).toBe(PT.IDr);
    const chain = payloadChain(r.plaintext, r.firstInnerPayload!);
    expect(chain.map((p) => p.type)).toEqual([36, 39, 33, 44, 45]);
    expect(Buffer.from(findPayload(chain, PT.IDr).body.subarray(4)).toString()).toBe('rsp.lab');
  });

  it('re-encrypting with the captured IV reproduces both messages byte for byte', () => {
    for (const [message, key] of [
      [authRequest, skEi],
      [authResponse, skEr],
    ] as const) {
      const r = open(message, key);
      const parts = splitSkMessage(message, 28);
      const body = encryptSk({ suite, keyE: key, iv: r.iv, headerAndSkHeader: parts.headerAndSkHeader, plaintext: r.plaintext, padding: r.padding });
      expect(toHex(body)).toBe(toHex(parts.body));
      // sealSkMessage sets both length fields itself: start from zeroed ones.
      const prefix = new Uint8Array(message.subarray(0, 32));
      prefix.fill(0, 24, 28);
      prefix.fill(0, 30, 32);
      const rebuilt = sealSkMessage({ suite, keyE: key, iv: r.iv, prefix, skOffset: 28, plaintext: r.plaintext });
      expect(toHex(rebuilt)).toBe(toHex(message));
    }
  });

  it('rejects the request with one ciphertext bit flipped, or with the wrong key', () => {
    const parts = splitSkMessage(authRequest, 28);
    const body = new Uint8Array(parts.body);
    body[20]! ^= 0x01;
    const r = decryptSk({ suite, keyE: skEi, headerAndSkHeader: parts.headerAndSkHeader, body });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('icv-mismatch');
    const aad = new Uint8Array(parts.headerAndSkHeader);
    aad[19]! ^= 0x08; // a header flag bit is authenticated too
    expect(decryptSk({ suite, keyE: skEi, headerAndSkHeader: aad, body: parts.body }).ok).toBe(false);
    expect(openSkMessage({ suite, keyE: skEr, message: authRequest, skOffset: 28 }).ok).toBe(false);
  });

  it('PSK AUTH (RFC 7296 §2.15) of both peers equals the AUTH payloads', () => {
    const psk = new Uint8Array(Buffer.from(manifest.ground_truth.psk));
    expect(manifest.ground_truth.psk).toBe('lab-psk-0123456789');
    const req = payloadChain(open(authRequest, skEi).plaintext, PT.IDi);
    const authI = findPayload(req, PT.AUTH).body;
    expect(authI[0]).toBe(2); // Shared Key Message Integrity Code
    const computedI = pskAuth(PrfId.HMAC_SHA2_256, psk, initRequest, nr, fromHex(ike.SK_pi), findPayload(req, PT.IDi).body);
    expect(toHex(computedI)).toBe(toHex(authI.subarray(4)));

    const resp = payloadChain(open(authResponse, skEr).plaintext, PT.IDr);
    const authR = findPayload(resp, PT.AUTH).body;
    const computedR = pskAuth(PrfId.HMAC_SHA2_256, psk, initResponse, ni, fromHex(ike.SK_pr), findPayload(resp, PT.IDr).body);
    expect(toHex(computedR)).toBe(toHex(authR.subarray(4)));

    // The wrong PSK gives a different value.
    expect(toHex(pskAuth(PrfId.HMAC_SHA2_256, new Uint8Array(Buffer.from('lab-psk-0123456780')), initRequest, nr, fromHex(ike.SK_pi), findPayload(req, PT.IDi).body))).not.toBe(
      toHex(authI.subarray(4)),
    );
  });

  it('CHILD_SA KEYMAT = prf+(SK_d, Ni | Nr) gives the ESP keys charon installed', () => {
    const child = deriveChildKeys(PrfId.HMAC_SHA2_256, fromHex(ike.SK_d), ni, nr, suite);
    const iToR = keys.esp.find((e) => e.direction === 'ini->rsp')!;
    const rToI = keys.esp.find((e) => e.direction === 'rsp->ini')!;
    expect(toHex(child.encrI)).toBe(iToR.enc_key);
    expect(toHex(child.encrR)).toBe(rToI.enc_key);
    expect(child.integI.length).toBe(0);
  });
});

describe('strongSwan ESP-in-UDP (AES-GCM-16-128, RFC 4106)', () => {
  for (const [frameNo, direction, type] of [
    [5, 'ini->rsp', 8],
    [6, 'rsp->ini', 0],
  ] as const) {
    it(`frame ${frameNo} (${direction}) decrypts to an ICMP echo ${type === 8 ? 'request' : 'reply'} and re-encrypts byte-exact`, () => {
      const esp = keys.esp.find((e) => e.direction === direction)!;
      const keyE = fromHex(esp.enc_key);
      const packet = inFrame(frames, frameNo, OUTSIDE).payload;
      expect(toHex(packet.subarray(0, 4))).toBe(esp.spi);
      const r = espOpen({ suite, keyE, packet });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.seq).toBe(1);
      expect(r.spi).toBe(parseInt(esp.spi, 16));
      expect(r.plaintext.length % espAlignment(suite)).toBe(0);
      const t = espStripTrailer(r.plaintext);
      expect(t.ok).toBe(true);
      if (!t.ok) return;
      expect(t.nextHeader).toBe(4); // IPv4 in tunnel mode
      expect(t.defaultPadding).toBe(true);
      const ip = t.payload;
      expect(ip[0]! >> 4).toBe(4);
      expect(ip[9]).toBe(1); // ICMP
      const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
      const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
      expect(type === 8 ? [src, dst] : [dst, src]).toEqual(['10.77.10.1', '10.77.20.1']);
      expect(ip[(ip[0]! & 0x0f) * 4]).toBe(type);
      const again = espSeal({ suite, keyE, spi: r.spi, seq: r.seq, iv: r.iv, plaintext: r.plaintext });
      expect(toHex(again)).toBe(toHex(packet));
    });
  }

  it('every ESP packet of the capture opens with its SA key, and a flipped byte anywhere after the header is refused', () => {
    let opened = 0;
    for (const f of frames) {
      const p = f.payload;
      if (p.length < 8 || (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0)) continue;
      const esp = keys.esp.find((e) => e.spi === toHex(p.subarray(0, 4)));
      if (!esp) continue;
      const keyE = fromHex(esp.enc_key);
      expect(espOpen({ suite, keyE, packet: p }).ok).toBe(true);
      for (let i = 4; i < p.length; i++) {
        const bad = new Uint8Array(p);
        bad[i]! ^= 0x40;
        expect(espOpen({ suite, keyE, packet: bad }).ok).toBe(false);
      }
      opened++;
    }
    expect(opened).toBe(20);
  });
});
