/**
 * A hand-driven SMTP client over a real TCP socket, for tests that must send
 * exactly the commands an attacker would (RSET between recipients, a DATA
 * that never ends, a byte every second) — nodemailer only speaks proper SMTP.
 */
import { connect, type Socket } from 'node:net';

export interface SmtpReply {
  code: number;
  text: string;
}

export class SmtpDialog {
  private buffer = '';
  private readonly replies: SmtpReply[] = [];
  private waiting: (() => void) | undefined;
  /** Set once the server closed the connection. */
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buffer += text;
      // A reply ends with a line "NNN text"; "NNN-text" lines continue it.
      for (let end = this.buffer.indexOf('\r\n'); end >= 0; end = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) this.replies.push({ code: Number(line.slice(0, 3)), text: line.slice(4) });
      }
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connect from a chosen loopback address and read the greeting. */
  static async open(port: number, localAddress = '127.0.0.1'): Promise<{ dialog: SmtpDialog; greeting: SmtpReply }> {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const dialog = new SmtpDialog(socket);
    return { dialog, greeting: await dialog.reply() };
  }

  /** The next reply; rejects when the connection closes first or nothing comes within the time. */
  reply(timeoutMs = 10_000): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const next = this.replies.shift();
        if (next) {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(next);
        } else if (this.closed) {
          clearTimeout(timer);
          this.waiting = undefined;
          reject(new Error('connection closed'));
        }
      };
      this.waiting = check;
      check();
    });
  }

  /** Send one command line and read its reply. */
  async command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** DATA, the message (dot-stuffed), the final dot: the reply to the message. */
  async data(raw: Buffer): Promise<SmtpReply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    const stuffed = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
    this.socket.write(Buffer.from(stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`, 'latin1'));
    this.socket.write('.\r\n');
    return this.reply(120_000);
  }

  /** Resolves when the server has closed the connection. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  end(): void {
    this.socket.destroy();
  }
}
