/**
 * How long a server process stops answering (issue 18): `/healthz` asked over
 * one kept-alive HTTPS connection every `intervalMs`, one request at a time;
 * the longest time between two answers is the longest the process's event
 * loop was blocked (or busy) while the meter ran, give or take the interval.
 * Measured from outside the process, so it sees what a phone or an agent
 * would: nothing is instrumented inside the server. The server closes a
 * connection that never logs in after a while (its connection gate): the
 * meter then asks again on a new one.
 */
import { Agent, request } from 'node:https';

export interface StallReading {
  /** Longest time between two answers (or from the start to the first, or from the last to the stop), ms. */
  longestMs: number;
  /** Answers received. */
  answers: number;
}

export interface StallMeter {
  stop(): Promise<StallReading>;
}

function ask(port: number, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', method: 'GET', agent, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/healthz answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function startStallMeter(port: number, intervalMs = 15): Promise<StallMeter> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  // The TLS handshake happens here, before the measurement starts.
  await ask(port, agent);
  let stopping = false;
  let last = performance.now();
  let longest = 0;
  let answers = 0;
  const loop = (async () => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, intervalMs));
      await ask(port, agent).catch(() => ask(port, agent));
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      answers++;
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop.finally(() => agent.destroy());
      return { longestMs: Math.round(longest), answers };
    },
  };
}
