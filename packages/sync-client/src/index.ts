export { runSync, type SyncSummary } from './sync.js';
export { loadAgentConfig, writeAgentConfig, type AgentConfig } from './config.js';
export { AgentStore, type Mapping, type InboxEntry } from './store/agent-store.js';
export { DesktopImap, type ImapSettings } from './imap/desktop-imap.js';
export { FALLBACKS, type FallbackPath } from './imap/fallbacks.js';
export { SyncConnection } from './transport/connection.js';
export { askForSync, controlSocketPathOf, type ControlAnswer } from './daemon/control-socket.js';
