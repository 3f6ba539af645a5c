import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TwinboxError } from '@twinbox/protocol';
import { ControlSocket, askForSync, controlSocketPathOf } from './control-socket.js';

describe('the control socket', () => {
  it('answers a sync request with the outcome of the sync, success or failure; only its owner may connect', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'twinbox-control-')), 'agent.db.sock');
    let n = 0;
    const control = await ControlSocket.listen(path, async () => {
      if (++n === 2) throw new TwinboxError('CONNECTION_LOST', 'server down');
      return { syncNo: n };
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await askForSync(path)).toEqual({ ok: true, summary: { syncNo: 1 } });
      expect(await askForSync(path)).toEqual({ ok: false, error: { code: 'CONNECTION_LOST', message: 'server down', retryable: true } });
      const other = await new Promise<string>((resolve) => {
        const socket = createConnection(path, () => socket.write('{"request":"shell"}\n'));
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('close', () => resolve(text));
      });
      expect(JSON.parse(other)).toMatchObject({ ok: false, error: { code: 'BAD_FRAME' } });
    } finally {
      await control.close();
    }
    await expect(askForSync(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sits beside the database, or in the runtime folder when that path is too long for a socket', () => {
    expect(controlSocketPathOf({ database: '/home/a/.twinbox/agent.db' })).toBe('/home/a/.twinbox/agent.db.sock');
    const long = controlSocketPathOf({ database: `/home/${'x'.repeat(120)}/agent.db` });
    expect(Buffer.byteLength(long)).toBeLessThan(108);
    expect(long).toMatch(/twinbox-agent-.*\.sock$/);
  });
});
