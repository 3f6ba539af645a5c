/**
 * Outgoing SMTP for mail the phone sends directly (docs/spec.md §7): one nodemailer
 * transport to the configured relay. The message goes out byte for byte as
 * the phone composed it, with an explicit envelope.
 */
import nodemailer from 'nodemailer';
import { securityOf, smtpSecurityOptions, type Envelope, type TransportSecurity } from '@twinbox/protocol';

export interface RelayConfig {
  host: string;
  port: number;
  /** tls | starttls (required, the default) | plain (only when chosen). */
  security?: TransportSecurity;
  /** Older configs: true = tls, false = starttls. */
  secure?: boolean;
  user?: string;
  password?: string;
}

export interface Mailer {
  send(envelope: Envelope, raw: Buffer): Promise<void>;
}

export function relayMailer(config: RelayConfig): Mailer {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    ...smtpSecurityOptions(securityOf(config, 'relay.security', 'starttls')),
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
  });
  return {
    async send(envelope, raw) {
      await transport.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
    },
  };
}

/** A mailer that reports each send's outcome (the server's metrics). */
export function observedMailer(mailer: Mailer, sent: (ok: boolean) => void): Mailer {
  return {
    async send(envelope, raw) {
      try {
        await mailer.send(envelope, raw);
        sent(true);
      } catch (err) {
        sent(false);
        throw err;
      }
    },
  };
}
