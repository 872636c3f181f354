/**
 * Extensible Authentication payload (RFC 7296 §3.16) carrying one EAP message (RFC 3748 §4).
 *
 *  |     Code      | Identifier    |           Length              |
 *  |     Type      | Type_Data...
 *
 * The EAP Length must equal the payload body length. Request, Response, Initiate and
 * Finish (codes 1, 2, 5, 6) carry a Type byte; Success and Failure (3, 4) do not, and
 * for any other code everything after Length is kept as data.
 */
import { EapCode, PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface EapPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.EAP;
  /** See EapCode. */
  readonly code: number;
  readonly identifier: number;
  /** The EAP method type; present exactly when the code carries one (eapHasType). */
  readonly eapType?: number;
  /** Type-Data (or, for codes without a Type byte, everything after Length). */
  readonly data: Uint8Array;
}

const EAP_HEADER = 4;

export function eapHasType(code: number): boolean {
  return code === EapCode.REQUEST || code === EapCode.RESPONSE || code === EapCode.INITIATE || code === EapCode.FINISH;
}

export const eapBody: PayloadBody<EapPayload> = {
  decode(r, header) {
    const total = r.remaining;
    const code = r.u8('eap_code');
    const identifier = r.u8('eap_identifier');
    const length = r.u16('eap_length');
    if (length !== total) r.fail('eap_length', `EAP length ${length} differs from the ${total}-byte payload body`, 2);
    if (eapHasType(code)) {
      const eapType = r.u8('eap_type');
      return { type: PayloadType.EAP, ...header, code, identifier, eapType, data: r.rest() };
    }
    return { type: PayloadType.EAP, ...header, code, identifier, data: r.rest() };
  },
  length: (p) => EAP_HEADER + (eapHasType(p.code) ? 1 : 0) + p.data.length,
  write(p, w) {
    const hasType = eapHasType(p.code);
    if (hasType !== (p.eapType !== undefined)) {
      throw new RangeError(`EAP code ${p.code} ${hasType ? 'needs' : 'has no'} a Type byte`);
    }
    const length = EAP_HEADER + (hasType ? 1 : 0) + p.data.length;
    w.u8(checkRange('EAP code', p.code, 0xff)).u8(checkRange('EAP identifier', p.identifier, 0xff)).u16(checkRange('EAP length', length, 0xffff));
    if (p.eapType !== undefined) w.u8(checkRange('EAP type', p.eapType, 0xff));
    w.bytes(p.data);
  },
};

export const eapPayloadCodec = payloadCodec(eapBody, PayloadType.EAP);
