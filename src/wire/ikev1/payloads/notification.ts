/**
 * Notification payload (RFC 2408 §3.14):
 *
 *   generic header | DOI (4) | Protocol-ID (1) | SPI Size (1) | Notify Message Type (2)
 *   SPI (SPI Size) | Notification Data (the rest)
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface NotificationPayload {
  readonly doi: number;
  readonly protocolId: number;
  /** NotifyType, e.g. INITIAL-CONTACT 24578, R-U-THERE 36136. */
  readonly notifyType: number;
  /** 0..255 bytes; 16 (the cookie pair) for ISAKMP, 4 for ESP/AH. */
  readonly spi: Uint8Array;
  readonly data: Uint8Array;
}

export function readNotificationBody(r: ByteReader): NotificationPayload {
  const doi = r.u32('notification.doi');
  const protocolId = r.u8('notification.protocol_id');
  const spiSizeAt = r.pos;
  const spiSize = r.u8('notification.spi_size');
  const notifyType = r.u16('notification.type');
  if (spiSize > r.remaining) {
    r.fail('notification.spi_size', `SPI size ${spiSize} runs past the end: ${r.remaining} bytes left`, spiSizeAt);
  }
  const spi = r.bytes(spiSize, 'notification.spi').slice();
  return { doi, protocolId, notifyType, spi, data: r.rest().slice() };
}

export function notificationBodyLength(n: NotificationPayload): number {
  return 8 + n.spi.length + n.data.length;
}

export function writeNotificationBody(n: NotificationPayload, out: Uint8Array, offset: number): number {
  assert(n.spi.length <= 0xff, 'notification SPI longer than 255 bytes');
  const w = new ByteWriter(out, offset);
  w.u32(n.doi).u8(n.protocolId).u8(n.spi.length).u16(n.notifyType).bytes(n.spi).bytes(n.data);
  return w.pos;
}

export const NotificationBodyCodec: Codec<NotificationPayload> = {
  decode(buf: Uint8Array, base = 0): NotificationPayload {
    return readNotificationBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: notificationBodyLength,
  encode(n: NotificationPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(notificationBodyLength(n), out, offset);
    writeNotificationBody(n, t, 0);
    return t;
  },
};

export const NotificationPayloadCodec = framed('notification', NotificationBodyCodec);
