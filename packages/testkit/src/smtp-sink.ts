/**
 * A real SMTP listener on 127.0.0.1 standing in for the desktop's outgoing
 * mail server (and, later, the phone's relay): it accepts every message and
 * keeps the raw bytes, so tests can check exactly what left and how often.
 */
import { SMTPServer } from 'smtp-server';

export interface SmtpSink {
  port: number;
  /** Recipients refused with 550 (may be changed while it runs). */
  refuse: Set<string>;
  received: { from: string; to: string[]; raw: Buffer }[];
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Recipients refused at RCPT TO with 550, to test delivery failures. */
  refuse?: Set<string>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: SmtpSink['received'] = [];
  const refuse = options.refuse ?? new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (refuse.has(address.address)) {
        const error = new Error(`mailbox ${address.address} unavailable`) as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });
  return { port, refuse, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
