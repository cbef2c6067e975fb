/**
 * The rate search: the largest point budget whose stream fits a byte target. Stream size grows with the
 * number of known pixels, nearly in proportion, but not strictly (the values change with the tree), so
 * the search keeps a bracket (a budget that fits, one that does not) and guesses inside it by linear
 * interpolation of the measured sizes, falling back to bisection; it stops as soon as a size lands in
 * [(1 - tolerance) · target, target].
 */

export interface SearchOptions {
  /** Accept any size in [(1 - tolerance) · target, target]. Default 0.05. */
  tolerance?: number;
  /** Most sizes to measure. Default 24. */
  maxEvaluations?: number;
  /** First budget to try (default: proportional to the target from the smallest budget's size). */
  start?: number;
}

export interface SearchResult {
  count: number;
  size: number;
  evaluations: number;
}

/**
 * The budget in [min, max] with the largest size ≤ target that the search found (counts are integers;
 * sizeAt(min) is measured first). Undefined when even `min` is over the target.
 */
export function searchBudget(
  sizeAt: (count: number) => number,
  target: number,
  min: number,
  max: number,
  options: SearchOptions = {},
): SearchResult | undefined {
  const tolerance = options.tolerance ?? 0.05;
  const maxEvaluations = options.maxEvaluations ?? 24;
  const floor = (1 - tolerance) * target;
  const aim = (1 - tolerance / 2) * target;
  let evaluations = 0;
  const measure = (k: number) => {
    evaluations++;
    return sizeAt(k);
  };
  let lo = min;
  let loSize = measure(min);
  if (loSize > target) return undefined;
  let best: SearchResult = { count: lo, size: loSize, evaluations };
  if (loSize >= floor || min >= max) return best;
  let prev = -1; // the fitting budget before lo, for a secant while no upper bracket is known
  let prevSize = 0;
  let hi = max + 1; // smallest budget known not to fit (max + 1: none known)
  let hiSize = Number.POSITIVE_INFINITY;
  let k = options.start !== undefined ? Math.round(options.start) : Math.round((lo * aim) / loSize);
  while (evaluations < maxEvaluations) {
    k = Math.min(Math.max(k, lo + 1), Math.min(hi - 1, max));
    if (k <= lo) break;
    const size = measure(k);
    if (size <= target) {
      if (size > best.size || (size === best.size && k > best.count)) best = { count: k, size, evaluations };
      prev = lo;
      prevSize = loSize;
      lo = k;
      loSize = size;
      if (size >= floor || k >= max) break;
    } else {
      hi = k;
      hiSize = size;
    }
    if (hi - lo <= 1) break;
    let next: number;
    if (Number.isFinite(hiSize) && hiSize > loSize) {
      next = lo + ((aim - loSize) * (hi - lo)) / (hiSize - loSize);
      // Guard against slow progress at a bracket's end: never closer than an eighth of it.
      const eighth = (hi - lo) / 8;
      next = Math.min(Math.max(next, lo + eighth), hi - eighth);
    } else if (Number.isFinite(hiSize)) {
      next = (lo + hi) / 2;
    } else if (prev >= 0 && loSize > prevSize) {
      // Secant through the last two fitting budgets (sizes have an offset: header, root cells).
      next = lo + ((aim - loSize) * (lo - prev)) / (loSize - prevSize);
      next = Math.min(next, lo * 4);
    } else {
      next = (lo * aim) / Math.max(loSize, 1);
      if (next <= lo) next = lo * 2;
    }
    k = Math.round(next);
  }
  return { ...best, evaluations };
}
