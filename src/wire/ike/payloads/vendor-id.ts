/**
 * Vendor ID payload (RFC 7296 §3.12): the whole body is the opaque vendor ID.
 */
import { PayloadType } from '../constants.ts';
import { payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface VendorIdPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.V;
  readonly data: Uint8Array;
}

export const vendorIdBody: PayloadBody<VendorIdPayload> = {
  decode: (r, header) => ({ type: PayloadType.V, ...header, data: r.rest() }),
  length: (p) => p.data.length,
  write(p, w) {
    w.bytes(p.data);
  },
};

export const vendorIdPayloadCodec = payloadCodec(vendorIdBody, PayloadType.V);
