/**
 * The action checks of the profile suite against a real, separately
 * installed IMAP server (Courier, Cyrus): run by scripts/test-servers.sh,
 * which installs the server, starts it on loopback, describes it in
 * TWINBOX_EXTERNAL_IMAP, and restores Dovecot afterwards. The code paths the
 * agent chose are printed for the closing note and checked against
 * TWINBOX_EXTERNAL_EXPECT; what the server advertises and refuses, against
 * TWINBOX_EXTERNAL_FALLBACKS (default: nothing refused).
 */
import { externalImapFromEnv } from '@twinbox/testkit';
import { profileSuite, type ExpectedFallbacks, type ExpectedPaths } from '../profiles/profile-suite.js';

const server = externalImapFromEnv();
if (!server) throw new Error('TWINBOX_EXTERNAL_IMAP is not set: run this through scripts/test-servers.sh');
const expected = JSON.parse(process.env.TWINBOX_EXTERNAL_EXPECT ?? 'null') as ExpectedPaths | null;
if (!expected) throw new Error('TWINBOX_EXTERNAL_EXPECT is not set: run this through scripts/test-servers.sh');
const fallbacks = JSON.parse(process.env.TWINBOX_EXTERNAL_FALLBACKS ?? '{"refused":[],"paths":{}}') as ExpectedFallbacks;
profileSuite('full', expected, { scenarios: false, label: server.name, fallbacks });
