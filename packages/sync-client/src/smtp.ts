/**
 * The desktop's own SMTP server, through which the agent sends what the phone
 * asked to send via sync (SPEC §7: intranet addresses work, the mail leaves
 * from inside the firewall). One nodemailer transport per sync session.
 */
import nodemailer from 'nodemailer';
import type { Envelope } from '@twinbox/protocol';

export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (465). Without it, STARTTLS is used when offered. */
  secure: boolean;
  user?: string;
  password?: string;
  /** Accept a certificate that does not verify (test servers only). */
  allowInvalidCertificate?: boolean;
}

export interface DesktopSmtp {
  send(envelope: Envelope, raw: Buffer): Promise<void>;
  close(): void;
}

export function desktopSmtp(settings: SmtpSettings): DesktopSmtp {
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ...(settings.user ? { auth: { user: settings.user, pass: settings.password ?? '' } } : {}),
    tls: { rejectUnauthorized: !settings.allowInvalidCertificate },
  });
  return {
    async send(envelope, raw) {
      await transport.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
    },
    close: () => transport.close(),
  };
}
