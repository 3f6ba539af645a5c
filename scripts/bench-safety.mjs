#!/usr/bin/env node
// npm run bench (second part) — the server's memory under hostile load (issue 9),
// on the real server process with its default limits, printed and written to
// bench-results/field-safety.json:
//
// - RSS while a client streams 300 MiB of DATA at the default 25 MiB limit
//   (peak: what the 552 costs; it used to hold all 300 MiB);
// - RSS while 1,000 connections sit unauthenticated (500 after the TLS
//   handshake, 500 after the WebSocket upgrade, from 50 loopback sources),
//   and after the login deadline has closed them all.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { MiB, SmtpDialog, TwinboxSystem, processMemory } from '@twinbox/testkit';

const mib = (bytes) => Math.round(bytes / MiB);
const system = await TwinboxSystem.start({ window: 50 });
const results = { date: new Date().toISOString() };
try {
  const pid = system.serverPid;
  const idle = processMemory(pid);
  results.idleRssMiB = mib(idle.rssBytes);

  const { dialog: smtp } = await SmtpDialog.open(system.smtpPort);
  await smtp.command('EHLO bench.test');
  await smtp.command('MAIL FROM:<x@bench.test>');
  await smtp.command('RCPT TO:<user1@phone.invalid>');
  await smtp.command('DATA');
  const line = Buffer.from(`${'y'.repeat(1022)}\r\n`);
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line));
  const started = Date.now();
  for (let i = 0; i < 300; i++) if (!smtp.socket.write(chunk)) await new Promise((r) => smtp.socket.once('drain', r));
  smtp.socket.write('.\r\n');
  const reply = await smtp.reply(300_000);
  smtp.end();
  const afterData = processMemory(pid);
  results.data300MiB = { reply: reply.code, seconds: (Date.now() - started) / 1000, peakRssMiB: mib(afterData.peakRssBytes), rssAfterMiB: mib(afterData.rssBytes) };
  console.log(`300 MiB DATA at the default 25 MiB limit: ${reply.code}; server RSS ${results.idleRssMiB} MiB idle, peak ${results.data300MiB.peakRssMiB} MiB`);

  const open = [];
  for (let source = 1; source <= 50; source++) {
    const from = `127.0.4.${source}`;
    for (let i = 0; i < 10; i++) {
      open.push(new Promise((resolve, reject) => {
        const socket = tlsConnect({ socket: netConnect({ host: '127.0.0.1', port: system.port, localAddress: from }), rejectUnauthorized: false });
        socket.once('secureConnect', () => resolve(socket));
        socket.once('error', reject);
      }));
      open.push(new Promise((resolve, reject) => {
        const socket = new WebSocket(system.serverUrl, { rejectUnauthorized: false, localAddress: from });
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      }));
    }
  }
  const sockets = await Promise.all(open);
  const sitting = processMemory(pid);
  const closed = sockets.map((s) => new Promise((r) => (s instanceof WebSocket ? s.once('close', r) : s.once('close', r))));
  const waitStart = Date.now();
  await Promise.all(closed);
  const after = processMemory(pid);
  results.unauthenticated1000 = { rssMiB: mib(sitting.rssBytes), allClosedAfterSeconds: (Date.now() - waitStart) / 1000, rssAfterMiB: mib(after.rssBytes) };
  console.log(`1,000 unauthenticated connections: server RSS ${results.unauthenticated1000.rssMiB} MiB while they sit; all closed by the login deadline after ${results.unauthenticated1000.allClosedAfterSeconds.toFixed(1)} s`);
} finally {
  await system.stop();
}
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/field-safety.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('wrote bench-results/field-safety.json');
