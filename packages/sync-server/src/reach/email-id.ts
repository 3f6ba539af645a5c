/**
 * A desktop message's id as the phone holds it (docs/reach.md): its folder,
 * the folder's UIDVALIDITY and its UID, encoded (base64url of JSON), opaque
 * to the phone and checked like any hostile input when it comes back.
 */
import { Invalid, messageRef, type MessageRef } from '@twinbox/protocol';
import { PhoneError } from '../phone/errors.js';

export function emailIdOf(ref: MessageRef): string {
  return Buffer.from(JSON.stringify([ref.mailbox, ref.uidValidity, ref.uid])).toString('base64url');
}

export function refOfEmailId(id: string): MessageRef {
  const notOne = () => new PhoneError('NOT_FOUND', 'no such desktop message id');
  if (id.length > 2000 || !/^[A-Za-z0-9_-]+$/.test(id)) throw notOne();
  try {
    const value: unknown = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3) throw notOne();
    return messageRef({ mailbox: value[0], uidValidity: value[1], uid: value[2] });
  } catch (err) {
    if (err instanceof PhoneError) throw err;
    if (err instanceof Invalid || err instanceof SyntaxError) throw notOne();
    throw err;
  }
}
