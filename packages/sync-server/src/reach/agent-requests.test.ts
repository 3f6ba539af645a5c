import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '@twinbox/protocol';
import { AgentRequests } from './agent-requests.js';

describe('AgentRequests: the parts a preview left out (heldPart, lane version 2)', () => {
  it('an agent of lane version 1 is never asked: the phone hears DESKTOP_OUTDATED', async () => {
    const sent: ServerMessage[] = [];
    const old = new AgentRequests((m) => void sent.push(m), 1);
    await expect(old.openHeldPart({ phoneId: 3, partId: '2' }, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'DESKTOP_OUTDATED' });
    expect(sent).toEqual([]);
  });

  it('an agent of version 2 is asked, and the part streams as for any part', async () => {
    const sent: ServerMessage[] = [];
    const lane = new AgentRequests((m) => void sent.push(m), 2);
    const opened = lane.openHeldPart({ phoneId: 3, partId: '2' }, { timeoutMs: 1000 });
    expect(sent).toEqual([expect.objectContaining({ type: 'request', op: 'heldPart', params: { phoneId: 3, partId: '2' } })]);
    const id = (sent[0] as { id: number }).id;
    lane.response(id, undefined, Buffer.from(JSON.stringify({ size: 3, type: 'application/pdf', name: 'f.pdf' })));
    const { meta, body } = await opened;
    expect(meta).toEqual({ size: 3, type: 'application/pdf', name: 'f.pdf' });
    lane.chunk(id, 0, false, Buffer.from('abc'));
    lane.chunk(id, 1, true, Buffer.alloc(0));
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('abc');
  });
});
