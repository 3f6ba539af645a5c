export { startDovecot, freePort, type Dovecot, type DovecotUser } from './dovecot.js';
export { makeMessage, triggerMail, type TestMessage } from './mail.js';
export { DesktopClient, FOLDERS, type DesktopFolder, type LabeledMessage } from './desktop-client.js';
export { TwinboxSystem, ROOT, SERVER_CLI, AGENT_CLI, type AccountSetup, type AgentRun, type Pairing } from './system.js';
export { startSmtpSink, type SmtpSink } from './smtp-sink.js';
export { labelOfRaw, labelOfHeaders, LABEL_HEADER } from './labels.js';
export { windowInvariantProblems } from './window-invariant.js';
export { AgentDaemon, type DaemonEvent } from './agent-daemon.js';
export { LoopbackProxy, type ProxyUnit } from './loopback-proxy.js';
