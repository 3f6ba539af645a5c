import { profileSuite } from './profile-suite.js';

// QRESYNC advertised and enabled, its forms (SELECT … QRESYNC, FETCH … VANISHED) refused (issue 18): changes found by
// CONDSTORE instead, from the sync that met the refusal on.
profileSuite(
  'qresync-refused',
  { detection: 'qresync', move: 'move', expunge: 'uid-expunge', uidNext: 'select', appendUid: 'appenduid', trash: 'Trash', sent: 'Sent' },
  { scenarios: false, fallbacks: { refused: ['qresync'], paths: { detection: 'condstore' } } },
);
