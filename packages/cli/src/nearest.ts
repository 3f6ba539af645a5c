/**
 * "Did you mean …?": the known name nearest to a misspelled one (an option,
 * a config key), by edit distance with transpositions (optimal string
 * alignment), so `scheduel` finds `schedule` and `trashDay` finds `trashDays`.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `word`, when it is close enough to be a slip (a third of its letters at most, and at least 2). */
export function nearestName(word: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (name.toLowerCase() === word.toLowerCase()) return name;
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  const allowed = Math.max(2, Math.floor(word.length / 3));
  return best && best.distance <= allowed ? best.name : undefined;
}

/** " (did you mean X?)" when there is a near name, else "". */
export function didYouMean(word: string, known: Iterable<string>, show: (name: string) => string = (n) => n): string {
  const near = nearestName(word, known);
  return near === undefined ? '' : ` (did you mean ${show(near)}?)`;
}
