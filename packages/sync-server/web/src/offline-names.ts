/**
 * Names the page and the service worker share (issue 18): the offline copy
 * of the mail is kept per account, in a cache named after it, and a read says
 * whose it is — in a header (the app's own requests) or in the address (the
 * message frame, whose request the app cannot add a header to).
 */
export const DATA_CACHE_PREFIX = 'twinbox-data:';
export const ACCOUNT_HEADER = 'x-twinbox-account';
export const DEVICE_HEADER = 'x-twinbox-device';
export const ACCOUNT_PARAM = 'account';

export const dataCacheOf = (account: string): string => `${DATA_CACHE_PREFIX}${account}`;
