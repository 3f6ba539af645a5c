/**
 * Outgoing SMTP for mail the phone sends directly (SPEC §7): one nodemailer
 * transport to the configured relay. The message goes out byte for byte as
 * the phone composed it, with an explicit envelope.
 */
import nodemailer from 'nodemailer';
import type { Envelope } from '@twinbox/protocol';

export interface RelayConfig {
  host: string;
  port: number;
  /** Implicit TLS (465); otherwise STARTTLS when offered. */
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
    secure: config.secure ?? false,
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
  });
  return {
    async send(envelope, raw) {
      await transport.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
    },
  };
}
