import { profileSuite } from './profile-suite.js';

// Gmail: CONDSTORE without QRESYNC; "[Gmail]/Trash" and "[Gmail]/Sent Mail" with SPECIAL-USE.
profileSuite('gmail', { detection: 'condstore', move: 'move', expunge: 'uid-expunge', uidNext: 'select', appendUid: 'appenduid', trash: '[Gmail]/Trash', sent: '[Gmail]/Sent Mail' }, { scenarios: true });
