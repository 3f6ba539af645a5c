import { profileSuite } from './profile-suite.js';

// Exchange: no CONDSTORE, QRESYNC, MOVE or SPECIAL-USE; "Deleted Items" and "Sent Items".
profileSuite('exchange', { detection: 'compare', move: 'copy-expunge', expunge: 'uid-expunge', uidNext: 'select', appendUid: 'appenduid', trash: 'Deleted Items', sent: 'Sent Items' }, { scenarios: true });
