import { profileSuite } from './profile-suite.js';

// A server that advertises all Dovecot has and refuses SORT, QRESYNC and CONDSTORE forms, MOVE, UID EXPUNGE,
// ESEARCH's RETURN, SEARCH HEADER and IDLE (issue 18): every sync succeeds on the plain paths, each refusal paid once.
// (The agent never sends an ESEARCH form: nothing to refuse there.)
profileSuite(
  'refusing',
  { detection: 'qresync', move: 'move', expunge: 'uid-expunge', uidNext: 'select', appendUid: 'appenduid', trash: 'Trash', sent: 'Sent' },
  {
    scenarios: false,
    label: 'advertised-and-refused',
    fallbacks: {
      refused: ['condstore', 'idle', 'move', 'qresync', 'searchHeader', 'sort', 'uidExpunge'],
      paths: { detection: 'compare', move: 'copy-expunge', expunge: 'protected-expunge', order: 'listing', messageIds: 'listing' },
    },
  },
);
