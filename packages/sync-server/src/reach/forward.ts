/**
 * A phone request that needs the agent, on a node the agent is not connected
 * to (docs/scaling.md, "Requests that need the agent"): the request is passed,
 * as it came — method, path, headers, body — to the node that holds the
 * agent's link, and that node's answer goes back to the phone as it comes,
 * streamed (a 20 MB attachment is never held whole on either node).
 *
 * The other node authenticates the request again, as any request: nothing is
 * trusted because it came from a node. The header `x-twinbox-forwarded-by`
 * only keeps a request from going round: a node never passes on a request
 * that carries it (a phone that sets it merely gets its answer from the node
 * it reached). Node to node is TLS, verified: the other node's certificate
 * must be trusted by the system or be this node's own (one certificate for
 * all nodes, the self-signed case), and be issued for the public name.
 */
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { checkServerIdentity, createSecureContext, rootCertificates, type PeerCertificate, type SecureContext } from 'node:tls';
import type { Logger } from '../log.js';
import type { AgentPresence } from '../store/agent-presence.js';
import { PhoneError } from '../phone/errors.js';
import { readBody } from '../phone/request-body.js';

export const FORWARDED_BY = 'x-twinbox-forwarded-by';

/** Headers that describe one connection, not the request (RFC 9110 §7.6.1), and the framing this node sets itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

/** How long the other node may take to accept the connection: past it, the phone hears DESKTOP_OFFLINE. */
const CONNECT_TIMEOUT_MS = 5_000;
/** An answer that stops moving for this long (a phone that does not read, a node that stalled) is cut. */
const IDLE_MS = 60_000;
/** Request bodies passed on are the desktop routes' JSON (64 KiB at most there): read whole, sent with their length. */
const MAX_BODY_BYTES = 64 * 1024;
/** Requests of one account passed on at once: one phone cannot hold every connection to another node. */
const MAX_PER_ACCOUNT = 8;

export interface ForwardOptions {
  /** This node's name (cluster.nodeName). */
  node: string;
  /** Whether the account's agent is connected to this node (then nothing is passed on). */
  connectedHere(accountId: string): boolean;
  /** The certificate this node serves, now (it is reloaded when its file changes). */
  certificate(): Buffer;
  /** The name the nodes' certificate is issued for (publicUrl's host); undefined: the other node's announced host. */
  publicHost?: string;
  /** How long the other node may take to begin its answer (the agent's deadline, and a little more). */
  answerWithinMs: number;
  log: Logger;
}

/** The headers of `message` worth passing on: not hop-by-hop, nor any the Connection header names. */
function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) kept[name] = value;
  return kept;
}

export class NodeForwarder {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });
  private readonly inFlight = new Map<string, number>();
  /** The TLS context that trusts the system's roots and this node's certificate, made again when it changes. */
  private trust: { cert: Buffer; context: SecureContext } | undefined;

  constructor(
    private readonly presence: AgentPresence,
    private readonly options: ForwardOptions,
  ) {}

  /**
   * Pass the request to the node the account's agent is connected to, and its answer back. False when there
   * is none to pass it to (the agent is here, or not connected anywhere, or the request came from a node):
   * the caller answers it here.
   */
  async forward(accountId: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.headers[FORWARDED_BY] !== undefined || this.options.connectedHere(accountId)) return false;
    const presence = await this.presence.get(accountId);
    if (presence.state !== 'connected' || !presence.node || presence.node === this.options.node) return false;
    const nodeUrl = await this.presence.nodeUrl(presence.node);
    if (!nodeUrl) return false;
    // Only the path and query come from the phone: the node's address is the one it announced (a request line
    // of the form `GET https://elsewhere/…` or `//elsewhere/…` must not choose where this node connects).
    const asked = new URL(req.url ?? '/', 'https://phone.invalid');
    const target = new URL(nodeUrl);
    target.pathname = asked.pathname;
    target.search = asked.search;
    if (target.origin !== new URL(nodeUrl).origin) return false;
    const running = this.inFlight.get(accountId) ?? 0;
    if (running >= MAX_PER_ACCOUNT) throw new PhoneError('DESKTOP_BUSY');
    this.inFlight.set(accountId, running + 1);
    try {
      await this.pass(target, presence.node, await bodyOf(req), req, res);
    } finally {
      const left = (this.inFlight.get(accountId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(accountId, left);
      else this.inFlight.delete(accountId);
    }
    return true;
  }

  close(): void {
    this.agent.destroy();
  }

  private secureContext(): SecureContext {
    const cert = this.options.certificate();
    if (this.trust?.cert !== cert) this.trust = { cert, context: createSecureContext({ ca: [...rootCertificates, cert] }) };
    return this.trust.context;
  }

  private pass(target: URL, node: string, body: Buffer | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = endToEnd(req.headers);
    headers[FORWARDED_BY] = this.options.node;
    // Framed by this node: a length, never the phone's Transfer-Encoding (whose body could hide a second request).
    if (body) headers['content-length'] = String(body.length);
    const identity = this.options.publicHost ?? target.hostname.replace(/^\[|\]$/g, '');
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const fail = (why: string, quiet = false) => {
        timers.forEach(clearTimeout);
        if (settled) return;
        settled = true;
        out.destroy();
        if (!quiet) this.options.log.warn('could not pass a request to the node that holds the agent', { node, error: why });
        reject(new PhoneError('DESKTOP_OFFLINE', 'the desktop agent is connected to another server node, which did not answer'));
      };
      const out = request(
        target,
        {
          method: req.method,
          headers,
          agent: this.agent,
          // Passed on to tls.connect (https.RequestOptions does not list it): one context, not one per request.
          ...({ secureContext: this.secureContext() } as RequestOptions),
          checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(identity, cert),
        },
        (answer) => {
          const status = answer.statusCode ?? 0;
          if (settled || res.headersSent || status < 200 || status > 599) {
            answer.resume();
            return fail(`answered with status ${status}`);
          }
          timers.forEach(clearTimeout);
          settled = true;
          res.writeHead(status, endToEnd(answer.headers));
          answer.pipe(res);
          // An answer that stops moving either way (the phone does not read, the node stalled) is cut.
          out.setTimeout(IDLE_MS, () => (out.destroy(), res.destroy()));
          // The other node broke off mid-answer: so does this one (the phone sees a cut download, as from one node).
          answer.once('close', () => {
            if (!answer.complete) res.destroy();
            resolve();
          });
          answer.once('error', () => res.destroy());
        },
      );
      // A node that does not take the connection soon is gone; one that took it answers within the agent's deadline.
      const connecting = setTimeout(() => fail(`no connection within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
      timers.push(connecting, setTimeout(() => fail('no answer in time'), this.options.answerWithinMs));
      out.once('socket', (socket) => (socket.connecting ? socket.once('secureConnect', () => clearTimeout(connecting)) : clearTimeout(connecting)));
      out.once('error', (err) => (settled ? res.destroy() : fail(String(err))));
      // The phone going away stops the request at the other node (which cancels it at the agent).
      res.once('close', () => {
        if (!res.writableFinished) out.destroy();
        if (settled) resolve();
        else fail('the phone went away', true);
      });
      out.end(body);
    });
  }
}

/**
 * The request's body, read whole (it is small: see MAX_BODY_BYTES); undefined for a request without one. A GET
 * or HEAD that says it has a body is refused: there is nothing for the other node to read in it.
 */
async function bodyOf(req: IncomingMessage): Promise<Buffer | undefined> {
  const declared = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!declared) return req.method === 'POST' ? Buffer.alloc(0) : undefined;
  if (req.method === 'GET' || req.method === 'HEAD') throw new PhoneError('BAD_REQUEST', `a ${req.method} request has no body`);
  return readBody(req, MAX_BODY_BYTES);
}
