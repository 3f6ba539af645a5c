import { profileSuite } from './profile-suite.js';

// A German mailbox without SPECIAL-USE: "Papierkorb" and "Gesendete Objekte" are found by name.
profileSuite('localized', { detection: 'compare', move: 'move', expunge: 'uid-expunge', uidNext: 'select', appendUid: 'appenduid', trash: 'Papierkorb', sent: 'Gesendete Objekte' }, { scenarios: false });
