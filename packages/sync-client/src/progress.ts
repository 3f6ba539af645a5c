/**
 * Progress of a long sync (issue 11): what it is doing, and how far. The
 * phases report through a ProgressSink; `twinbox-agent sync` draws a bar on
 * a terminal or prints JSON lines (--json), and the background agent records
 * it for `twinbox-agent status`.
 */
export type SyncStage = 'listing' | 'pairing' | 'fetching' | 'sending' | 'applying' | 'pulling';

export interface Progress {
  stage: SyncStage;
  done: number;
  /** Unknown while the other side has not said how many (it streams them). */
  total: number | null;
}

export type ProgressSink = (progress: Progress) => void;

export const STAGE_TEXT: Record<SyncStage, string> = {
  listing: 'finding the window in the desktop INBOX',
  pairing: 'pairing phone and desktop messages',
  fetching: 'copying phone messages to the desktop',
  sending: 'sending desktop changes',
  applying: 'applying phone changes',
  pulling: 'pulling messages to the phone',
};

/**
 * A sink that passes on what matters and not every step: nothing during the
 * first `quietMs` (a short sync shows no progress), then a stage's first and
 * last step and at most one update per `everyMs` between.
 */
export function throttled(sink: ProgressSink, options: { quietMs: number; everyMs: number }, now: () => number = Date.now): ProgressSink {
  const started = now();
  let last = 0;
  let stage: SyncStage | undefined;
  return (p) => {
    const t = now();
    if (t - started < options.quietMs) return;
    const boundary = p.stage !== stage || (p.total !== null && p.done >= p.total);
    if (!boundary && t - last < options.everyMs) return;
    stage = p.stage;
    last = t;
    sink(p);
  };
}

/** How long a sync runs before it shows progress (ms): TWINBOX_PROGRESS_AFTER_MS, default 1 s. */
export function progressQuietMs(): number {
  const value = Number(process.env.TWINBOX_PROGRESS_AFTER_MS);
  return Number.isFinite(value) && value >= 0 ? value : 1000;
}

/** One line of a terminal progress bar: `[#######.............]  35%  175/500  pulling messages to the phone`. */
export function progressBar(p: Progress, width = 24): string {
  const text = STAGE_TEXT[p.stage];
  if (p.total === null || p.total === 0) return `[${'.'.repeat(width)}]  ${p.done}  ${text}`;
  const ratio = Math.min(1, p.done / p.total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${p.done}/${p.total}  ${text}`;
}
