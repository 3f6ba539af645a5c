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
import { Agent, request } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import type { Logger } from '../log.js';
import type { AgentPresence } from '../store/agent-presence.js';
import { PhoneError } from '../phone/errors.js';

export const FORWARDED_BY = 'x-twinbox-forwarded-by';

/** Headers that describe one connection, not the request (RFC 9110 §7.6.1): not passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

/** How long the other node may take to accept the connection: past it, the phone hears DESKTOP_OFFLINE. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface ForwardOptions {
  /** This node's name (cluster.nodeName). */
  node: string;
  /** Whether the account's agent is connected to this node (then nothing is passed on). */
  connectedHere(accountId: string): boolean;
  /** The certificate this node serves, now (it is reloaded when its file changes). */
  certificate(): Buffer;
  /** The name the nodes' certificate is issued for (publicUrl's host); undefined: the other node's address. */
  publicHost?: string;
  /** How long the other node may take to begin its answer (the agent's deadline, and a little more). */
  answerWithinMs: number;
  log: Logger;
}

export class NodeForwarder {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

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
    const url = await this.presence.nodeUrl(presence.node);
    if (!url) return false;
    await this.pass(new URL(req.url ?? '/', url), presence.node, req, res);
    return true;
  }

  close(): void {
    this.agent.destroy();
  }

  private pass(target: URL, node: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    headers[FORWARDED_BY] = this.options.node;
    const identity = this.options.publicHost ?? target.hostname;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const fail = (why: string) => {
        timers.forEach(clearTimeout);
        if (settled) return;
        settled = true;
        out.destroy();
        this.options.log.warn('could not pass a request to the node that holds the agent', { node, error: why });
        reject(new PhoneError('DESKTOP_OFFLINE', 'the desktop agent is connected to another server node, which did not answer'));
      };
      const out = request(
        target,
        {
          method: req.method,
          headers,
          agent: this.agent,
          ca: [...rootCertificates, this.options.certificate()],
          checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(identity, cert),
        },
        (answer) => {
          timers.forEach(clearTimeout);
          settled = true;
          const passed: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) passed[name] = value;
          res.writeHead(answer.statusCode ?? 502, passed);
          answer.pipe(res);
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
        else fail('the phone went away');
      });
      req.pipe(out);
    });
  }
}
