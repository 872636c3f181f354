/**
 * A ProtocolError that also carries the notification data to send (e.g. the
 * accepted group of INVALID_KE_PAYLOAD, RFC 7296 §3.10.1), and the Notify payload
 * answering any ProtocolError.
 */
import { ProtocolError } from '../core/index.ts';
import { makeNotify, type NotifyPayload } from '../wire/ike/payloads/notify.ts';

export class NotifyError extends ProtocolError {
  constructor(
    notifyType: number,
    message: string,
    readonly data: Uint8Array,
  ) {
    super(notifyType, message);
  }
}

/** The Notify payload that reports an error to the peer. */
export function errorNotify(e: ProtocolError): NotifyPayload {
  return makeNotify(e.notifyType, e instanceof NotifyError ? e.data : new Uint8Array(0));
}
