/**
 * Inbound SMTP for the phone addresses (SPEC §5): a delivered message lands
 * in the account's phone Inbox and becomes an `insert` for the desktop, in one
 * transaction. Unknown recipients are refused at RCPT TO (550), oversized
 * messages at DATA (552). STARTTLS is offered with the server's certificate.
 *
 * A trusted sender (by client address, see `trustedSenders`) may state the
 * arrival time with an `X-Twinbox-Arrival: <ISO time>` header; the header is
 * removed before the message is stored, and ignored from anyone else.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { InboundSmtpConfig } from '../config.js';
import type { Logger } from '../log.js';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import type { ServerStore } from '../store/index.js';

export const ARRIVAL_HEADER = 'X-Twinbox-Arrival';
const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Remove the arrival header (with any folded continuation lines) from the header block; return its value. */
export function takeArrivalHeader(raw: Buffer): { raw: Buffer; arrival: string | undefined } {
  const text = raw.toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  // The header block ends with the line break of its last line; the rest starts with the empty line.
  const headEnd = blank ? blank.index + (blank[0].startsWith('\r\n') ? 2 : 1) : text.length;
  const lines = text.slice(0, headEnd).split(/(?<=\n)/);
  const kept: string[] = [];
  let arrival: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (arrival === undefined && /^x-twinbox-arrival:/i.test(line)) {
      arrival = line.slice(line.indexOf(':') + 1).trim();
      while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) arrival += ` ${lines[++i]!.trim()}`;
      continue;
    }
    kept.push(line);
  }
  if (arrival === undefined) return { raw, arrival };
  return { raw: Buffer.from(kept.join('') + text.slice(headEnd), 'latin1'), arrival };
}

export interface InboundSmtp {
  port: number;
  close(): Promise<void>;
}

export async function startInboundSmtp(config: InboundSmtpConfig, tls: { key: Buffer; cert: Buffer }, store: ServerStore, log: Logger): Promise<InboundSmtp> {
  const maxBytes = config.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  const trusted = new Set(config.trustedSenders ?? []);
  const recipients = new WeakMap<SMTPServerSession, string[]>();

  const server = new SMTPServer({
    name: 'twinbox',
    banner: 'Twinbox phone mail',
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: maxBytes,
    key: tls.key,
    cert: tls.cert,
    logger: false,
    onRcptTo(address, session, callback) {
      const account = store.accounts.byPhoneAddress(address.address);
      if (!account) return callback(smtpError(550, `5.1.1 <${address.address}>: no such mailbox here`));
      recipients.set(session, [...(recipients.get(session) ?? []), account.id]);
      callback();
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, `5.3.4 message larger than ${maxBytes} bytes`));
        const taken = takeArrivalHeader(Buffer.concat(chunks));
        const fromTrusted = trusted.has(session.remoteAddress.replace(/^::ffff:/, ''));
        const stated = fromTrusted && taken.arrival ? Date.parse(taken.arrival) : NaN;
        const raw = fromTrusted ? taken.raw : Buffer.concat(chunks);
        const date = Number.isNaN(stated) ? Date.now() : stated;
        try {
          for (const accountId of new Set(recipients.get(session) ?? [])) {
            const id = new PhoneMailbox(store, accountId).deliver({ raw, date });
            log.info('mail delivered to the phone', { account: accountId, phoneId: id, bytes: raw.length });
          }
          recipients.delete(session);
          callback();
        } catch (err) {
          log.error('inbound delivery failed', { error: String(err) });
          callback(smtpError(451, '4.3.0 temporary failure storing the message, try again later'));
        }
      });
    },
  });
  server.on('error', (err) => log.warn('inbound SMTP error', { error: err.message }));
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(config.port, config.host, () => resolve((server.server.address() as { port: number }).port));
  });
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
