import { profileSuite } from './profile-suite.js';

// Stock Courier 5.0.13: "INBOX." namespace, no [UIDNEXT] in SELECT (STATUS gives it), UIDPLUS, no MOVE, no IDLE, SORT;
// UTF8=ACCEPT enabled and then a SORT in US-ASCII refused with BAD [BADCHARSET] (issue 18, finding 11): the agent
// sorts in UTF-8 there, so nothing is refused.
profileSuite('courier', { detection: 'compare', move: 'copy-expunge', expunge: 'uid-expunge', uidNext: 'status', appendUid: 'appenduid', trash: 'INBOX.Trash', sent: 'INBOX.Sent' }, { scenarios: false, fallbacks: { refused: [], paths: { order: 'sort' } } });
