/**
 * The testkit's HAProxy (issue 22), which the multi-node tests and benchmark
 * put in front of the sync server's nodes: TCP mode (TLS passes through),
 * health checks with GET /readyz over TLS, new connections round the nodes,
 * reloads with other nodes; unprivileged, on 127.0.0.1 only, stopped by its
 * pid. The nodes here are small HTTPS servers that say which one answered.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaproxy, type Haproxy } from '@twinbox/testkit';

interface Node {
  port: number;
  /** What /readyz answers. */
  ready: number;
  server: Server;
  sockets: Set<Socket>;
}

let certDir: string;
let tls: { key: Buffer; cert: Buffer };

async function startNode(port = 0): Promise<Node> {
  const sockets = new Set<Socket>();
  const node = { port, ready: 200, sockets } as Node;
  node.server = createServer(tls, (req, res) => {
    res.writeHead(req.url === '/readyz' ? node.ready : 200, { 'content-type': 'text/plain' });
    res.end(String(node.port));
  });
  node.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => node.server.listen(port, '127.0.0.1', resolve));
  node.port = (node.server.address() as { port: number }).port;
  return node;
}

function stopNode(node: Node): Promise<void> {
  return new Promise((resolve) => {
    node.server.close(() => resolve());
    for (const s of node.sockets) s.destroy();
  });
}

/** One request on a new connection through HAProxy: which node answered. */
function whoAnswers(proxy: Haproxy): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: '/who', agent: false, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(Number(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe("the testkit's HAProxy (issue 22)", () => {
  let a: Node;
  let b: Node;
  let proxy: Haproxy;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'twinbox-haproxy-test-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: ['ignore', 'ignore', 'pipe'] });
    tls = { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) };
    a = await startNode();
    b = await startNode();
    proxy = await startHaproxy([a.port, b.port], { checkIntervalMs: 200 });
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const node of [a, b]) if (node?.server.listening) await stopNode(node);
    rmSync(certDir, { recursive: true, force: true });
  });

  it('runs unprivileged on its own port on 127.0.0.1, and sees both nodes up by their /readyz', async () => {
    expect(uidOf(proxy.pid)).not.toBe(0);
    expect(readFileSync(join(proxy.dir, 'haproxy.cfg'), 'utf8')).toMatch(new RegExp(`^\\s*bind 127\\.0\\.0\\.1:${proxy.port}$`, 'm'));
    expect(proxy.syncUrl).toBe(`wss://127.0.0.1:${proxy.port}/sync`);
    await proxy.waitForNode(a.port, true);
    await proxy.waitForNode(b.port, true);
    const states = await proxy.nodeStates();
    expect(states.map((s) => [s.port, s.up, s.check])).toEqual([
      [a.port, true, 'L7OK'],
      [b.port, true, 'L7OK'],
    ]);
  });

  it('passes TLS through untouched and sends new connections round the nodes', async () => {
    const answered: number[] = [];
    for (let i = 0; i < 4; i++) answered.push(await whoAnswers(proxy));
    expect([...answered].sort()).toEqual([a.port, a.port, b.port, b.port].sort());
    expect(answered[0]).not.toBe(answered[1]);
  });

  it('takes out a node whose /readyz answers 503, and puts it back when it answers 200', async () => {
    a.ready = 503;
    await proxy.waitForNode(a.port, false);
    expect((await proxy.nodeStates()).find((s) => s.port === a.port)!.check).toBe('L7STS');
    for (let i = 0; i < 3; i++) expect(await whoAnswers(proxy)).toBe(b.port);
    a.ready = 200;
    await proxy.waitForNode(a.port, true);
  });

  it('takes out a node that stops listening; connections go to the other', async () => {
    await stopNode(b);
    await proxy.waitForNode(b.port, false);
    expect((await proxy.nodeStates()).find((s) => s.port === b.port)!.check).toMatch(/^L4/);
    for (let i = 0; i < 3; i++) expect(await whoAnswers(proxy)).toBe(a.port);
    b = await startNode(b.port);
    await proxy.waitForNode(b.port, true);
  });

  it('reloads with other nodes', async () => {
    const c = await startNode();
    try {
      await proxy.setNodes([c.port]);
      expect(proxy.nodes).toEqual([c.port]);
      await proxy.waitForNode(c.port, true);
      for (let i = 0; i < 3; i++) expect(await whoAnswers(proxy)).toBe(c.port);
      await proxy.setNodes([a.port, b.port]);
    } finally {
      await stopNode(c);
    }
  });

  it('stops by its pid and leaves no files behind', async () => {
    const second = await startHaproxy([a.port]);
    const { pid, dir } = second;
    expect(second.port).not.toBe(proxy.port);
    await second.stop();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
