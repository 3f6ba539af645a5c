/**
 * "Sync now" from the phone (docs/spec.md §8, §9). When the desktop agent is
 * connected (its watch connection), the request goes over that connection at
 * once. Otherwise the server sends the magic e-mail to the desktop address —
 * the only thing the firewall lets in — carrying an authenticator the agent
 * checks (see protocol/trigger.ts). The e-mail goes through the configured
 * trigger transport (SMTP, or LMTP straight into the desktop mail server).
 *
 * The desktop mailbox is the user's corporate mailbox, so trigger e-mails are
 * rationed (issue 18.10): at most one per account per interval (a minute by
 * default, `phone.syncNowEmailIntervalSeconds`), held in the database
 * (store/trigger-mails.ts), so it holds across restarts and server processes.
 * A request meanwhile sends nothing and hears that a trigger is on its way:
 *
 *   { path: 'email' }                                               sent now
 *   { path: 'email', coalesced: true, sentAt, nextEmailAt }          one was sent at sentAt
 *
 * A trigger that could not be sent frees its slot: the next request tries again.
 */
import nodemailer from 'nodemailer';
import { TRIGGER_HEADER, makeTriggerHeader, securityOf, smtpSecurityOptions, type TransportSecurity } from '@twinbox/protocol';
import type { Logger } from './log.js';
import { PhoneError } from './phone/errors.js';
import type { Account, ServerStore } from './store/index.js';

export interface TriggerTransportConfig {
  host: string;
  port: number;
  /** Speak LMTP (delivery straight into a mail store) instead of SMTP. */
  lmtp?: boolean;
  /** tls | starttls (required) | plain. Default: starttls for SMTP, plain for LMTP (local delivery). */
  security?: TransportSecurity;
  /** Older configs: true = tls, false = starttls. */
  secure?: boolean;
  user?: string;
  password?: string;
  /** From address of trigger e-mails. */
  from?: string;
}

export function triggerMessage(account: Account, from: string, headerValue: string, nonce: string): Buffer {
  const lines = [
    `From: Twinbox <${from}>`,
    `To: ${account.desktopAddress}`,
    'Subject: Twinbox sync request',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <trigger.${nonce}@twinbox.invalid>`,
    `${TRIGGER_HEADER}: ${headerValue}`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'This message asks your Twinbox desktop agent to synchronize with your phone now.',
    'The agent removes it by itself. If you can read it, the agent is not running',
    'or is not paired with this server; it is safe to delete.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/** What "sync now" did: asked the connected agent, sent a trigger e-mail, or found one on its way. */
export type SyncNowAnswer =
  | { path: 'live' }
  | { path: 'email' }
  | { path: 'email'; coalesced: true; sentAt: string; nextEmailAt: string };

/** `via: 'email'` sends the trigger e-mail even when the agent is connected (to test that path). */
export type SyncNow = (account: Account, via?: 'auto' | 'email') => Promise<SyncNowAnswer>;

export function createSyncNow(
  store: ServerStore,
  /** Ask the connected agent (on this node or another); false when none is connected. */
  requestLive: (accountId: string) => Promise<boolean>,
  transport: TriggerTransportConfig | undefined,
  log: Logger,
  /** At most one trigger e-mail per account in this many ms. */
  emailIntervalMs: number,
  /** Hears each trigger e-mail's outcome (the server's metrics). */
  sent: (ok: boolean) => void = () => undefined,
): SyncNow {
  const mailer = transport
    ? nodemailer.createTransport({
        host: transport.host,
        port: transport.port,
        lmtp: transport.lmtp ?? false,
        ...smtpSecurityOptions(securityOf(transport, 'trigger.security', transport.lmtp ? 'plain' : 'starttls')),
        ...(transport.user ? { auth: { user: transport.user, pass: transport.password ?? '' } } : {}),
      })
    : undefined;
  /** The slot of a trigger that did not go; a failure to free it is logged (the slot then lapses with its interval), not reported over the send's. */
  const releaseSlot = (accountId: string, sentAt: number) =>
    store.triggerMails.release(accountId, sentAt).catch((err: unknown) => log.warn('sync now: the trigger e-mail slot could not be freed', { account: accountId, error: String(err) }));
  return async (account, via = 'auto') => {
    if (via === 'auto' && (await requestLive(account.id))) {
      log.info('sync now: asked the connected agent', { account: account.id });
      return { path: 'live' };
    }
    if (!mailer) throw new PhoneError('NO_RELAY', 'the agent is not connected and no trigger transport is configured');
    // The slot is taken before the e-mail goes: of many requests at once, one sends.
    const slot = await store.triggerMails.claim(account.id, emailIntervalMs);
    if (!slot.claimed) {
      log.debug('sync now: a trigger e-mail is already on its way', { account: account.id, sentAt: new Date(slot.sentAt).toISOString() });
      return { path: 'email', coalesced: true, sentAt: new Date(slot.sentAt).toISOString(), nextEmailAt: new Date(slot.sentAt + emailIntervalMs).toISOString() };
    }
    const from = transport!.from ?? 'twinbox@localhost';
    const { value, claims } = makeTriggerHeader(account.triggerSecret, account.id);
    try {
      await mailer.sendMail({ envelope: { from, to: [account.desktopAddress] }, raw: triggerMessage(account, from, value, claims.nonce) });
      sent(true);
    } catch (err) {
      sent(false);
      await releaseSlot(account.id, slot.sentAt);
      throw new PhoneError('SEND_FAILED', `the trigger e-mail could not be sent: ${(err as Error).message}`, { cause: err });
    }
    log.info('sync now: trigger e-mail sent', { account: account.id, expires: new Date(claims.expires).toISOString() });
    return { path: 'email' };
  };
}
