/**
 * Protocol version. Bumped on any change to the frame layout or to the meaning
 * of a message; both sides refuse a peer that speaks another version
 * (error VERSION_MISMATCH) before anything is changed.
 */
export const PROTOCOL_VERSION = 4 as const;
// 2: identity scheme 2 (content digests in the phone list and on destroys), the phone list in pages
//    (listPhone), phone changes carried across an initial sync, outgoing mail sent at an initial sync.
// 3: quiet syncs (hello.quiet → welcome.completed, one round trip) and several syncs on one connection
//    (after `completed` a connection is a watch connection and takes the next hello); window order sent
//    only where it changed; up to 1,024 actions in flight.
// 4: identity scheme 3 (c2: digests over the IMAP-safe form and the MIME fields); window order carries the
//    desktop arrival time; server actions `unmap` (the phone let go of a copy) and `expire` (retention,
//    checked on the desktop); `failed`/`deferred`/`quarantined` results for a message that cannot be applied.
