/** What the phone API answers (packages/sync-server/src/phone/api.ts). */
export type Folder = 'inbox' | 'trash' | 'sent' | 'outbox';

export interface Summary {
  id: number;
  folder: Folder;
  date: string;
  from: string;
  subject: string;
  preview: string;
  seen: boolean;
  flagged: boolean;
  size: number;
  sendStatus?: 'queued' | 'failed' | null;
  sendError?: string | null;
  viaSync?: boolean;
}

export interface Message extends Summary {
  to: string;
  cc: string;
  messageId: string | null;
  references: string[];
  text: string;
  html: string | null;
  remoteContent: boolean;
  /** `onDesktop`: left out of the phone's preview of a large message (docs/reach.md): fetched from the desktop when opened. */
  attachments: { index: number; filename: string | null; contentType: string; size: number; onDesktop?: boolean }[];
  /** Held as a preview (docs/reach.md "Preview first"). */
  partial?: boolean;
}

export interface SyncStats {
  mode: 'initial' | 'update';
  agentActions: number;
  serverActions: number;
  pulled: number;
  desktopInbox?: number;
}

export interface Status {
  account: string;
  phoneAddress: string;
  device: { id: number; name: string };
  window: number;
  inbox: number;
  lastSync: { at: string; number: number; stats: SyncStats | null } | null;
  pendingActions: number;
  /** What could not sync for reasons of one message (docs/quarantine.md). */
  quarantine?: { changes: QuarantinedChange[]; desktopMessagesHeld: number };
  agentConnected: boolean;
  directSend: boolean;
}

/** A phone change the desktop kept refusing, set aside until retried. */
export interface QuarantinedChange {
  id: number;
  phoneId: number;
  kind: string;
  subject: string | null;
  error: string;
  at: string;
}

export interface SendRequest {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text: string;
  inReplyTo?: string;
  references?: string;
  attachments?: { filename: string; contentType?: string; contentBase64: string }[];
  viaSync: boolean;
}

/** What a notification shows (push-api.ts on the server): sender and subject, or only "New mail". */
export type PushShow = 'sender' | 'count';

export interface PushInfo {
  /** Does this server send push notifications at all? */
  available: boolean;
  /** The key to subscribe with (VAPID applicationServerKey, base64url). */
  publicKey: string | null;
  /** Does the server hold a subscription of this browser? */
  subscribed: boolean;
  show: PushShow | null;
}

/** The notification a push carries (push/payload.ts on the server). */
export interface NewMailPush {
  type: 'newMail';
  v: 1;
  account: string;
  count: number;
  message: number;
  from?: string;
  subject?: string;
}
