/**
 * Protocol version. Bumped on any change to the frame layout or to the meaning
 * of a message; both sides refuse a peer that speaks another version
 * (error VERSION_MISMATCH) before anything is changed.
 */
export const PROTOCOL_VERSION = 1 as const;
