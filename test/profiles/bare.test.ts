import { profileSuite } from './profile-suite.js';

// A bare IMAP4rev1 server: no UIDPLUS (no APPENDUID/COPYUID), MOVE, IDLE, SPECIAL-USE or ESEARCH.
profileSuite('bare', { detection: 'compare', move: 'copy-expunge', expunge: 'protected-expunge', uidNext: 'select', appendUid: 'search', trash: 'Trash', sent: 'Sent' }, { scenarios: true });
