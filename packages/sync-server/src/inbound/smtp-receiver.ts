/**
 * Inbound SMTP for the phone addresses (docs/spec.md §5): a delivered message lands
 * in the account's phone Inbox and becomes an `insert` for the desktop, in one
 * transaction. Unknown recipients are refused at RCPT TO (550), oversized
 * messages at the end of DATA (552). STARTTLS is offered with the server's
 * certificate.
 *
 * Anyone on the internet may connect here, so (issue 9, the way Postfix's
 * smtpd guards itself):
 * - recipients belong to one mail transaction (`session.envelope.rcptTo`,
 *   RFC 5321 §4.1.4: RSET, MAIL FROM, EHLO/HELO and the end of DATA, accepted
 *   or refused, all end it), never to the connection;
 * - DATA is buffered only up to the size limit; past it the rest is drained
 *   and discarded, and the message is refused with 552;
 * - at most `maxClients` connections at once, `maxClientsPerSource` from one
 *   source (421 beyond), `maxRecipients` per transaction (452 beyond); a
 *   source is what the HTTPS gate counts (rate-limit.ts `sourceKey`): an IPv4
 *   address, an IPv6 /64 — one host usually holds a whole /64 (issue 18.13);
 * - a connection idle for `idleTimeoutSeconds` is closed (smtpd_timeout), and
 *   every connection is closed after `sessionTimeoutSeconds` whatever it is
 *   doing, so a sender trickling a byte at a time cannot hold a slot forever.
 *
 * - an account whose phone mailbox holds its quota (`retention.maxBytesPerAccount`,
 *   the size cap housekeeping keeps) takes no more mail: 452 4.2.2 at RCPT
 *   TO, or at the end of DATA when this message would take it over — for
 *   every recipient of the transaction, so nothing is stored half-way.
 *
 * A trusted sender (by client address, see `trustedSenders`) may state the
 * arrival time with an `X-Twinbox-Arrival: <ISO time>` header; the header is
 * removed before the message is stored, and ignored from anyone else.
 */
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { INBOUND_SMTP_DEFAULTS, type InboundSmtpConfig } from '../config.js';
import type { Logger } from '../log.js';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { sourceKey } from '../rate-limit.js';
import type { ServerStore } from '../store/index.js';

export const ARRIVAL_HEADER = 'X-Twinbox-Arrival';

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

/**
 * Collect a DATA stream up to `maxBytes`; beyond it keep reading (the client
 * must be able to finish its DATA and hear the 552) but keep nothing.
 */
export function collectBounded(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (over) return;
      if (total > maxBytes) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
  });
}

export interface InboundSmtp {
  port: number;
  /** STARTTLS with a renewed key and certificate from now on (tls-reload.ts). */
  updateTls(tls: { key: Buffer; cert: Buffer }): void;
  close(): Promise<void>;
}

/** The client's address as written in `smtp.trustedSenders` (trust is per address, never per /64). */
const sourceOf = (address: string) => address.replace(/^::ffff:/, '');

/** Hears each message's outcome (the server's metrics): delivered, or refused and why. */
export type SmtpOutcome = (outcome: 'delivered' | 'refused', reason: string) => void;

export async function startInboundSmtp(
  config: InboundSmtpConfig,
  tls: { key: Buffer; cert: Buffer },
  store: ServerStore,
  log: Logger,
  outcome: SmtpOutcome = () => undefined,
  /** Bytes an account's phone mailbox may hold (0: no limit). */
  quotaBytes = 0,
): Promise<InboundSmtp> {
  const overQuota = async (accountId: string, adding: number) => quotaBytes > 0 && (await store.messages.bytes(accountId)) + adding > quotaBytes;
  const limits = { ...INBOUND_SMTP_DEFAULTS, ...config };
  const maxBytes = limits.maxMessageBytes;
  const trusted = new Set(config.trustedSenders ?? []);
  const perSource = new Map<string, number>();

  /** RCPT TO: undefined to take the recipient, else the SMTP error that refuses it. */
  async function checkRecipient(address: string): Promise<Error | undefined> {
    const account = await store.accounts.byPhoneAddress(address);
    if (!account) {
      outcome('refused', 'unknown_recipient');
      return smtpError(550, `5.1.1 <${address}>: no such mailbox here`);
    }
    if (await overQuota(account.id, 0)) {
      outcome('refused', 'over_quota');
      return smtpError(452, `4.2.2 <${address}>: mailbox full, try again later`);
    }
    return undefined;
  }

  /** The end of DATA: the message stored for every recipient (undefined), or the SMTP error that refuses it. */
  async function receive(stream: SMTPServerDataStream, remoteAddress: string, recipients: readonly string[]): Promise<Error | undefined> {
    let received: Buffer | undefined;
    try {
      received = await collectBounded(stream, maxBytes);
    } catch (err) {
      return smtpError(451, `4.3.0 ${(err as Error).message}`);
    }
    if (!received || stream.sizeExceeded) {
      outcome('refused', 'too_large');
      return smtpError(552, `5.3.4 message larger than ${maxBytes} bytes`);
    }
    const fromTrusted = trusted.has(sourceOf(remoteAddress));
    const taken = fromTrusted ? takeArrivalHeader(received) : { raw: received, arrival: undefined };
    const stated = taken.arrival ? Date.parse(taken.arrival) : NaN;
    const date = Number.isNaN(stated) ? Date.now() : stated;
    try {
      return await deliverAll(recipients, taken.raw, date);
    } catch (err) {
      log.error('inbound delivery failed', { error: String(err) });
      outcome('refused', 'store_failed');
      return smtpError(451, '4.3.0 temporary failure storing the message, try again later');
    }
  }

  /** Store the message in the phone Inbox of each recipient's account; none when one of them holds its quota. */
  async function deliverAll(recipients: readonly string[], raw: Buffer, date: number): Promise<Error | undefined> {
    const accountIds = new Set<string>();
    for (const address of recipients) {
      const account = await store.accounts.byPhoneAddress(address);
      if (account) accountIds.add(account.id);
    }
    const full = () => {
      outcome('refused', 'over_quota');
      return smtpError(452, '4.2.2 mailbox full, try again later');
    };
    for (const accountId of accountIds) if (await overQuota(accountId, raw.length)) return full();
    for (const accountId of accountIds) {
      // Checked again in the transaction that stores, which no other change of the account comes between: a
      // delivery at the same time may have filled the mailbox. (Then the accounts before this one have the
      // message; the sender's retry finds it there, the same message, and stores it only for the rest.)
      const id = await store.transaction(
        async () => ((await overQuota(accountId, raw.length)) ? undefined : new PhoneMailbox(store, accountId).deliver({ raw, date })),
        { scope: accountId },
      );
      if (id === undefined) return full();
      log.info('mail delivered to the phone', { account: accountId, phoneId: id, bytes: raw.length });
      outcome('delivered', 'ok');
    }
    return undefined;
  }

  /**
   * Give smtp-server the answer a handler's async work comes to: an error refuses, undefined accepts. Work
   * that fails (the store) is a temporary failure: the sender tries again later.
   */
  function answer(work: Promise<Error | undefined>, callback: (err?: Error | null) => void): void {
    work.then(
      (refusal) => callback(refusal),
      (err: unknown) => {
        log.error('inbound SMTP failed', { error: String(err) });
        outcome('refused', 'store_failed');
        callback(smtpError(451, '4.3.0 temporary failure, try again later'));
      },
    );
  }

  const server = new SMTPServer({
    name: 'twinbox',
    banner: 'Twinbox phone mail',
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: maxBytes,
    maxClients: limits.maxClients,
    maxRecipients: limits.maxRecipients,
    socketTimeout: limits.idleTimeoutSeconds * 1000,
    key: tls.key,
    cert: tls.cert,
    logger: false,
    onConnect(session, callback) {
      const source = sourceKey(session.remoteAddress);
      const open = perSource.get(source) ?? 0;
      if (open >= limits.maxClientsPerSource) {
        log.warn('inbound SMTP: too many connections from one source', { source });
        outcome('refused', 'connections_per_source');
        return callback(smtpError(421, '4.7.0 too many connections from your address, try again later'));
      }
      perSource.set(source, open + 1);
      (session as { counted?: boolean }).counted = true;
      callback();
    },
    onClose(session) {
      if (!(session as { counted?: boolean }).counted) return;
      const source = sourceKey(session.remoteAddress);
      const open = (perSource.get(source) ?? 1) - 1;
      if (open <= 0) perSource.delete(source);
      else perSource.set(source, open);
    },
    onRcptTo(address, _session, callback) {
      answer(checkRecipient(address.address), callback);
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      // This transaction's recipients only: smtp-server resets the envelope at RSET, MAIL FROM, EHLO and after DATA.
      const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
      answer(receive(stream, session.remoteAddress, recipients), callback);
    },
  });
  server.on('error', (err) => log.warn('inbound SMTP error', { error: err.message }));
  // The session deadline: closes the connection whatever it is doing (a slow DATA included).
  server.server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      log.info('inbound SMTP: session deadline reached, closing', { source: socket.remoteAddress });
      socket.destroy();
    }, limits.sessionTimeoutSeconds * 1000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(config.port, config.host, () => resolve((server.server.address() as { port: number }).port));
  });
  return {
    port,
    updateTls: (next) => server.updateSecureContext({ key: next.key, cert: next.cert }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
