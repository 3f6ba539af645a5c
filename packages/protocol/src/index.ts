export * from './version.js';
export * from './limits.js';
export * from './errors.js';
export * from './messages.js';
export * from './validate.js';
export * from './framing.js';
export * from './fingerprint.js';
export * from './order.js';
