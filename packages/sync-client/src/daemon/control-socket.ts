/**
 * How a `twinbox-agent sync` asks the agent that holds the database's lock
 * (lock.ts) for a sync, instead of signalling a process id: a Unix socket
 * beside the database (`agent.db.sock`, mode 0600 — only its owner may
 * connect), served by the background agent and by a one-off sync while it
 * runs. One request per connection, one JSON line each way:
 *
 *   → {"request":"sync"}
 *   ← {"ok":true,"summary":{…}}                                  the sync that answers it completed
 *   ← {"ok":false,"error":{"code","message","retryable"}}        it failed (or the agent is stopping)
 *
 * The answer comes when the sync that answers the request has finished
 * (scheduler.ts: a request during a sync is answered by the follow-up).
 */
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TwinboxError, isErrorCode } from '@twinbox/protocol';

export type ControlRequest = { request: 'sync' };
export type ControlAnswer<T> = { ok: true; summary: T } | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** A request line is a few bytes; anything longer is not one. */
const MAX_REQUEST_BYTES = 4096;
/** Unix socket paths are limited to 107 bytes (sun_path). */
const MAX_SOCKET_PATH = 100;

/** The control socket of an agent's database: beside it, or (a path too long for a socket) in the user's runtime folder. */
export function controlSocketPathOf(config: { database: string }): string {
  const beside = `${config.database}.sock`;
  if (Buffer.byteLength(beside) <= MAX_SOCKET_PATH) return beside;
  const hash = createHash('sha256').update(config.database).digest('hex').slice(0, 16);
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `twinbox-agent-${process.getuid?.() ?? 'u'}-${hash}.sock`);
}

/** An error as the answer carries it. */
export function answerOf<T>(outcome: { ok: true; summary: T } | { ok: false; error: unknown }): ControlAnswer<T> {
  if (outcome.ok) return outcome;
  const e = outcome.error;
  const code = e instanceof TwinboxError ? e.code : 'INTERNAL';
  return { ok: false, error: { code, message: (e as Error)?.message ?? String(e), retryable: e instanceof TwinboxError ? e.retryable : true } };
}

/** The error an answer carries, as a TwinboxError (its code and whether a retry may help). */
export function errorOfAnswer(error: { code: string; message: string }): TwinboxError {
  return new TwinboxError(isErrorCode(error.code) ? error.code : 'INTERNAL', error.message);
}

export class ControlSocket {
  private readonly connections = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listen on `path` (a socket file left by a crashed holder is replaced: whoever calls this holds the lock). */
  static async listen<T>(path: string, onSync: () => Promise<T>): Promise<ControlSocket> {
    rmSync(path, { force: true });
    const server = createServer();
    const control = new ControlSocket(server, path);
    server.on('connection', (socket) => control.serve(socket, onSync));
    // Made 0600 from the start (umask), so no other user can connect even for an instant.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    return control;
  }

  private serve<T>(socket: Socket, onSync: () => Promise<T>): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.length > MAX_REQUEST_BYTES) return void socket.destroy();
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      let request: Partial<ControlRequest>;
      try {
        request = JSON.parse(buffer.slice(0, nl)) as Partial<ControlRequest>;
      } catch {
        request = {};
      }
      if (request.request !== 'sync') {
        socket.end(`${JSON.stringify(answerOf({ ok: false, error: new TwinboxError('BAD_FRAME', 'unknown request') }))}\n`);
        return;
      }
      void onSync().then(
        (summary) => answer(answerOf({ ok: true, summary })),
        (error: unknown) => answer(answerOf({ ok: false, error })),
      );
    };
    const answer = (a: ControlAnswer<T>) => {
      if (!socket.destroyed) socket.end(`${JSON.stringify(a)}\n`);
    };
    socket.on('data', onData);
  }

  /** Stop taking requests (those taken are still answered); the socket file goes. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}

/**
 * Ask the agent at `path` for a sync and wait for its answer. Rejects with a
 * NodeJS error (`ENOENT`, `ECONNREFUSED`) when nothing listens there, and
 * with CONNECTION_LOST when the agent went away before answering.
 */
export function askForSync<T>(path: string): Promise<ControlAnswer<T>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ request: 'sync' } satisfies ControlRequest)}\n`);
    });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', (err) => {
      if (!connected) reject(err);
    });
    socket.on('close', () => {
      if (!connected) return;
      try {
        resolve(JSON.parse(text.trim()) as ControlAnswer<T>);
      } catch {
        reject(new TwinboxError('CONNECTION_LOST', 'the running agent went away before it answered (stopped or killed); try again'));
      }
    });
  });
}
