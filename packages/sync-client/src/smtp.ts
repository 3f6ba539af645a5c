/**
 * The desktop's own SMTP server, through which the agent sends what the phone
 * asked to send via sync (docs/spec.md §7: intranet addresses work, the mail leaves
 * from inside the firewall).
 *
 * One connection per message, through nodemailer's SMTP connection rather
 * than a transport, for one reason: the caller must learn the moment before
 * the first byte of the envelope goes out (`beforeTransmit`). Up to then
 * nothing can have been sent, so a crash is safely retried; from then on the
 * outcome of a crash is unknown (outgoing-mail.ts journals that moment).
 */
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Envelope } from '@twinbox/protocol';
import { smtpSecurityOptions, type TransportSecurity } from '@twinbox/protocol';

export interface SmtpSettings {
  host: string;
  port: number;
  /** tls (465), starttls (required), or plain (only when asked for): transport-security.ts. */
  security: TransportSecurity;
  user?: string;
  password?: string;
  /** Accept a certificate that does not verify (test servers only). */
  allowInvalidCertificate?: boolean;
}

export interface DesktopSmtp {
  send(envelope: Envelope, raw: Buffer, beforeTransmit: () => void): Promise<void>;
  /** Connect, protect the connection as configured, log in, and quit: for `doctor`. */
  verify(): Promise<void>;
}

/**
 * One SMTP connection, its steps as promises (an error event fails the step
 * under way instead of ending the agent). nodemailer is loaded on first use:
 * most syncs send nothing, and a one-off `twinbox-agent sync` should not pay
 * for loading it.
 */
async function smtpSession(settings: SmtpSettings) {
  const { default: Connection } = (await import('nodemailer/lib/smtp-connection')) as { default: typeof SMTPConnection };
  const connection = new Connection({
    host: settings.host,
    port: settings.port,
    ...smtpSecurityOptions(settings.security),
    tls: { rejectUnauthorized: !settings.allowInvalidCertificate },
  });
  let failed: ((err: Error) => void) | undefined;
  connection.on('error', (err: Error) => failed?.(err));
  const step = <T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void) =>
    new Promise<T | undefined>((resolve, reject) => {
      failed = reject;
      start((err, value) => (err ? reject(err) : resolve(value)));
    });
  return {
    connection,
    step,
    async open(): Promise<void> {
      await step<void>((done) => connection.connect(() => done(null)));
      if (settings.user) await step<void>((done) => connection.login({ user: settings.user!, pass: settings.password ?? '' }, (err) => done(err)));
    },
  };
}

export function desktopSmtp(settings: SmtpSettings): DesktopSmtp {
  return {
    async send(envelope, raw, beforeTransmit) {
      const session = await smtpSession(settings);
      try {
        await session.open();
        beforeTransmit();
        await session.step((done) => session.connection.send({ from: envelope.from, to: envelope.to }, raw, (err, info) => done(err, info)));
        session.connection.quit();
      } finally {
        session.connection.close();
      }
    },
    async verify() {
      const session = await smtpSession(settings);
      try {
        await session.open();
        session.connection.quit();
      } finally {
        session.connection.close();
      }
    },
  };
}
