/** Test messages named by label: Subject and X-Scenario-Label carry it, Message-ID makes it unique. */
import { randomBytes } from 'node:crypto';

export interface TestMessage {
  label: string;
  date?: Date;
  /** Bytes of body to generate. */
  size?: number;
  from?: string;
  to?: string;
  /** Written after the label: "Subject: [label] subject". Without it the Subject is the label. */
  subject?: string;
  messageId?: string | null;
}

export function makeMessage(m: TestMessage): Buffer {
  const id = m.messageId === undefined ? `<${m.label}.${randomBytes(6).toString('hex')}@twinbox.test>` : m.messageId;
  const headers = [
    `From: ${m.from ?? 'Sender <sender@example.test>'}`,
    `To: ${m.to ?? 'user1@example.test'}`,
    `Subject: ${m.subject ? `[${m.label}] ${m.subject}` : m.label}`,
    `Date: ${(m.date ?? new Date()).toUTCString()}`,
    ...(id ? [`Message-ID: ${id}`] : []),
    `X-Scenario-Label: ${m.label}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  const filler = m.size ? 'x'.repeat(Math.max(0, m.size)).replace(/(.{76})/g, '$1\r\n') : `Body of ${m.label}.`;
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${filler}\r\n`, 'utf8');
}

/** A labelled message carrying an X-Twinbox-Trigger header with this value (a "sync now" e-mail, valid or not). */
export function triggerMail(value: string, label: string): Buffer {
  return Buffer.concat([Buffer.from(`X-Twinbox-Trigger: ${value}\r\n`), makeMessage({ label })]);
}

/**
 * A stranger's forgery of `real`: every header a reader sees (the Message-ID among them) copied, the label
 * and the body its own — a message of its own by identity (docs/identity.md), whatever it copies.
 */
export function forgedCopy(real: Buffer, label: string, body: string): Buffer {
  return Buffer.from(
    real
      .toString('latin1')
      .replace(/X-Scenario-Label: [^\r\n]*/, `X-Scenario-Label: ${label}`)
      .replace(/\r\n\r\n[\s\S]*$/, `\r\n\r\n${body}\r\n`),
    'latin1',
  );
}
