/**
 * The server's Prometheus metrics (issue 13), from the real server process:
 * off by default, behind a token on the HTTPS port or on a listener of its
 * own, and the counters move with what happens (a sync, actions both ways,
 * mail for the phone, API requests).
 */
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, freePort } from '@twinbox/testkit';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of one series in a Prometheus text exposition (0 when absent). */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function sumOf(text: string, name: string, labelPart: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labelPart))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function plainGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

describe('Prometheus metrics', () => {
  let system: TwinboxSystem;
  let listenPort: number;
  const scrape = async () => {
    const answer = await system.api('GET', '/metrics', TOKEN);
    expect(answer.status).toBe(200);
    return answer.raw.toString();
  };

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
  });
  afterAll(async () => system?.stop());

  it('are off by default', async () => {
    expect((await system.api('GET', '/metrics', undefined)).status).toBe(404);
    expect((await system.api('GET', '/metrics', TOKEN)).status).toBe(404);
  });

  it('are served with their token on the HTTPS port, and on a listener of their own', async () => {
    listenPort = await freePort();
    system.editServerConfig((c) => ((c as unknown as { metrics: unknown }).metrics = { token: TOKEN, listen: { host: '127.0.0.1', port: listenPort } }));
    await system.stopServer();
    await system.startServer();
    expect((await system.api('GET', '/metrics', undefined)).status).toBe(401);
    expect((await system.api('GET', '/metrics', 'not-the-token-at-all')).status).toBe(401);
    const text = await scrape();
    expect(text).toContain('# TYPE twinbox_sync_sessions_total counter');
    expect(text).toContain('twinbox_process_resident_memory_bytes');
    const plain = await plainGet(listenPort, '/metrics');
    expect(plain.status).toBe(200);
    expect(plain.body).toContain('# HELP twinbox_sync_duration_seconds');
    expect((await plainGet(listenPort, '/api/v1/status')).status).toBe(404);
  });

  it('move with a sync: sessions, its duration, actions both ways, inbound mail, API requests', async () => {
    const token = await system.addDevice('user1');
    const before = await scrape();
    await system.desktop.deliver({ label: 'D1' });
    await system.phoneReceive({ label: 'P1' });
    await system.sync();
    await system.api('POST', `/api/v1/messages/${await system.phoneId('D1')}/flag`, token);
    await system.sync();
    const after = await scrape();
    const delta = (series: string) => valueOf(after, series) - valueOf(before, series);
    expect(delta('twinbox_sync_sessions_total{outcome="completed"}')).toBe(2);
    // The first sync of this system is its initial one.
    expect([delta('twinbox_sync_duration_seconds_count{mode="initial"}'), delta('twinbox_sync_duration_seconds_count{mode="update"}')]).toEqual([1, 1]);
    expect(sumOf(after, 'twinbox_actions_total', 'direction="desktop_to_phone"') - sumOf(before, 'twinbox_actions_total', 'direction="desktop_to_phone"')).toBeGreaterThanOrEqual(1);
    expect(delta('twinbox_actions_total{kind="flag",direction="phone_to_desktop"}')).toBe(1);
    expect(delta('twinbox_smtp_received_total{outcome="delivered",reason="ok"}')).toBe(1);
    expect(delta('twinbox_http_requests_total{route="/api/v1/messages/:id/flag",status="200"}')).toBe(1);
    expect(valueOf(after, 'twinbox_sync_sessions_open')).toBe(0);
  });
});
