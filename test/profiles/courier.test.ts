import { profileSuite } from './profile-suite.js';

// Courier's shape: "INBOX." namespace, no [UIDNEXT] in SELECT (STATUS gives it), UIDPLUS, no MOVE, no IDLE.
profileSuite('courier', { detection: 'compare', move: 'copy-expunge', expunge: 'uid-expunge', uidNext: 'status', appendUid: 'appenduid', trash: 'INBOX.Trash', sent: 'INBOX.Sent' }, { scenarios: false });
