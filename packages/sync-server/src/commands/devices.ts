/**
 * `twinbox-server device add|link|list|revoke`: the phones of an account and
 * their sign-in links (README "The phone web app"). The sign-in code travels
 * in the link's fragment, so it never reaches a server log, a proxy or a
 * Referer header.
 */
import qrcode from 'qrcode-terminal';
import { UsageError, isoTime, required } from '@twinbox/cli';
import type { ServerConfig } from '../config.js';
import { SIGNIN_CODE_TTL_MS } from '../store/devices.js';
import { publicUrlOf, withAccount, type CommandValues } from './shared.js';

export interface DeviceValues extends CommandValues {
  name?: string;
  device?: string;
}

/** Where the phone opens the web app: appUrl, else the sync endpoint's https:// origin. */
function appUrlOf(config: ServerConfig): string {
  if (config.appUrl) return config.appUrl.endsWith('/') ? config.appUrl : `${config.appUrl}/`;
  const sync = new URL(publicUrlOf(config));
  return `https://${sync.host}/`;
}

function signInLink(config: ServerConfig, code: string): string {
  return `${appUrlOf(config)}#signin=${code}`;
}

function deviceNumber(values: DeviceValues, command: string): number {
  const id = Number(required(values, 'device', command));
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError('--device must be a device number (see `device list`)', command);
  return id;
}

function printSignIn(link: string): void {
  console.log(`Open this link on the phone within ${SIGNIN_CODE_TTL_MS / 60_000} minutes (it works once):`);
  console.log(`  ${link}`);
  if (process.stdout.isTTY) qrcode.generate(link, { small: true }, (qr) => console.log(qr));
}

export async function deviceAdd(values: DeviceValues): Promise<void> {
  await withAccount(values, 'device add', async (store, config, accountId) => {
    const { device, token } = await store.devices.add(accountId, values.name ?? 'phone');
    const link = signInLink(config, await store.devices.signInCode(device.id));
    const expiresAt = isoTime(Date.now() + SIGNIN_CODE_TTL_MS);
    if (values.json) return void console.log(JSON.stringify({ account: accountId, device: device.id, name: device.name, token, signInUrl: link, signInExpiresAt: expiresAt }));
    console.log(`device ${device.id} (${device.name}) added to account ${accountId}.`);
    printSignIn(link);
    console.log('For programs, its API token (shown only now), sent as "Authorization: Bearer <token>" to /api/v1/…:');
    console.log(`  ${token}`);
  });
}

export async function deviceLink(values: DeviceValues): Promise<void> {
  await withAccount(values, 'device link', async (store, config, accountId) => {
    const id = deviceNumber(values, 'device link');
    if (!(await store.devices.get(accountId, id))) throw new Error(`account ${accountId} has no device ${id} (see device list)`);
    const link = signInLink(config, await store.devices.signInCode(id));
    if (values.json) return void console.log(JSON.stringify({ account: accountId, device: id, signInUrl: link, signInExpiresAt: isoTime(Date.now() + SIGNIN_CODE_TTL_MS) }));
    printSignIn(link);
  });
}

export async function deviceList(values: DeviceValues): Promise<void> {
  await withAccount(values, 'device list', async (store, _config, accountId) => {
    const devices = (await store.devices.list(accountId)).map((d) => ({ id: d.id, name: d.name, createdAt: isoTime(d.createdAt), lastSeenAt: isoTime(d.lastSeenAt), sessions: d.sessions }));
    if (values.json) return void console.log(JSON.stringify(devices));
    if (devices.length === 0) console.log(`account ${accountId} has no devices`);
    for (const d of devices) console.log(`${d.id}\t${d.name}\tadded ${d.createdAt}\tlast seen ${d.lastSeenAt ?? 'never'}\tsigned-in browsers ${d.sessions}`);
  });
}

export async function deviceRevoke(values: DeviceValues): Promise<void> {
  await withAccount(values, 'device revoke', async (store, _config, accountId) => {
    const id = deviceNumber(values, 'device revoke');
    if (!(await store.devices.revoke(accountId, id))) throw new Error(`account ${accountId} has no device ${id} (see device list)`);
    if (values.json) return void console.log(JSON.stringify({ account: accountId, revoked: id }));
    console.log(`device ${id} revoked: its token and sessions no longer work, and its open web app is signed out.`);
  });
}
