import { profileSuite } from './profile-suite.js';

// Courier with IMAP_DISABLETHREADSORT=1: SORT still advertised, every SORT answered "NO This command is disabled by
// the system administrator." (issue 18): the window's cover from listed arrival times, remembered.
profileSuite(
  'courier-nosort',
  { detection: 'compare', move: 'copy-expunge', expunge: 'uid-expunge', uidNext: 'status', appendUid: 'appenduid', trash: 'INBOX.Trash', sent: 'INBOX.Sent' },
  { scenarios: false, label: 'courier-sort-disabled', fallbacks: { refused: ['sort'], paths: { order: 'listing' } } },
);
