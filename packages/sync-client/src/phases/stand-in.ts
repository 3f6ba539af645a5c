/**
 * A stand-in for a desktop message too large to go to the phone (over
 * LIMITS.maxMessageBytes, the largest body a frame carries): the original's
 * header fields (so the phone lists it with its sender, subject and date)
 * with a short plain-text note in place of its body. The phone records it
 * under the original's fingerprint and size, so a later initial sync still
 * recognises it; flags, trash and destroy sync as for any message.
 */
import { STAND_IN_HEADER } from '@twinbox/protocol';

const DROPPED = /^(content-[a-z-]*|mime-version|x-twinbox-stand-in)$/i;

const mb = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);

export function standInMessage(headerBlock: Buffer, size: number, limit: number): Buffer {
  const text = headerBlock.toString('latin1').replace(/(\r?\n)+$/, '');
  // Header fields with their folded continuation lines, minus those that describe the dropped body.
  const fields = text.split(/\r?\n(?![ \t])/).filter((field) => {
    const name = field.slice(0, Math.max(0, field.indexOf(':'))).trim();
    return field !== '' && !DROPPED.test(name);
  });
  const head = [
    ...fields.map((f) => f.replace(/\r?\n/g, '\r\n')),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    `${STAND_IN_HEADER}: original ${size} bytes`,
  ];
  const body = [
    `This message is ${mb(size)} MB, larger than the ${mb(limit)} MB a message on the phone can be.`,
    'It is kept whole in your desktop mailbox: open it there to read it and its attachments.',
    'Read, flag, trash and delete it here as usual: the desktop copy follows.',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n`, 'latin1');
}
