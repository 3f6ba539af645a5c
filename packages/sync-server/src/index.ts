export { startServer, type RunningServer } from './server.js';
export { loadConfig, type ServerConfig, type InboundSmtpConfig } from './config.js';
export { ServerStore } from './store/index.js';
export type { Account, NewAccount, PhoneMessage, Folder } from './store/index.js';
export { PhoneMailbox, PhoneError, type Delivery } from './phone/phone-mailbox.js';
export { certificateFingerprint, makeSelfSignedCertificate } from './tls.js';
export { SYNC_PATH } from './transport/sync-endpoint.js';
export { relayMailer, type Mailer, type RelayConfig } from './mailer.js';
export type { Outgoing } from './phone/phone-mailbox.js';
