/**
 * Turning a score map into a mask of exactly `count` pixels by error diffusion instead of a threshold.
 *
 * A threshold keeps the `count` highest scores, which for a smooth score map means a few solid blobs. Error
 * diffusion (Floyd-Steinberg, serpentine) of a density map p with mean count / N keeps pixels with local
 * frequency p, spread out (Belhachmi et al. 2009 realise their optimal mask density the same way).
 * p = sigmoid(z - t), with t found by bisection so that sum(p) = count; the dithered mask is then corrected
 * to exactly `count` pixels by adding the highest-scoring dropped or removing the lowest-scoring kept ones.
 */
export function ditherScores(scores: Float32Array, width: number, height: number, count: number): Uint8Array {
  const n = width * height;
  const k = Math.max(0, Math.min(n, count));
  if (k === 0) return new Uint8Array(n);
  if (k === n) return new Uint8Array(n).fill(1);
  const [min, max] = range(scores);
  const p = new Float64Array(n);
  const map = new LogisticMap(scores, max);
  const [lo, hi] = bisectOffset(map, k, p, min, max);
  // error diffusion loses a little mass at the borders: nudge t until the dithered count is k (or close)
  let best: Uint8Array<ArrayBuffer> = new Uint8Array(n);
  let bestGap = Number.POSITIVE_INFINITY;
  let tLo = lo - 5;
  let tHi = hi + 5;
  let t = (lo + hi) / 2;
  for (let iter = 0; iter < 24; iter++) {
    map.at(t, p);
    const mask = floydSteinberg(p, width, height);
    let have = 0;
    for (let i = 0; i < n; i++) have += mask[i];
    if (Math.abs(have - k) < bestGap) {
      bestGap = Math.abs(have - k);
      best = mask;
    }
    // within a few pixels: correctCount finishes the job (chasing the exact count through t costs many
    // error-diffusion passes, each far more than a scan)
    if (Math.abs(have - k) <= 8) break;
    if (have < k) tHi = t;
    else tLo = t;
    // the count scales about like e^(-t) at small densities: step by log(have / k), inside the bracket
    const guess = have > 0 ? t + Math.log(have / k) : Number.NaN;
    t = guess > tLo && guess < tHi ? guess : (tLo + tHi) / 2;
  }
  let have = 0;
  for (let i = 0; i < n; i++) have += best[i];
  if (have !== k) correctCount(best, scores, have, k);
  return best;
}

/**
 * Adds the highest-scoring missing pixels (or removes the lowest-scoring kept ones) until `k` are kept; ties
 * in a fixed scattered order (not by row). The gap is usually a few pixels, where repeated scans beat a full sort.
 */
function correctCount(mask: Uint8Array, scores: Float32Array, have: number, k: number): void {
  const n = mask.length;
  const key = (i: number) => ((i * 2654435761) >>> 0) / 4294967296;
  const better = (a: number, b: number) =>
    scores[a] > scores[b] || (scores[a] === scores[b] && key(a) < key(b));
  const adding = have < k;
  if (Math.abs(k - have) > 64) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      better(a, b) ? -1 : better(b, a) ? 1 : 0,
    );
    const sequence = adding ? order : order.reverse();
    for (let j = 0; j < n && have !== k; j++) {
      const i = sequence[j];
      if ((mask[i] === 1) === adding) continue;
      mask[i] = adding ? 1 : 0;
      have += adding ? 1 : -1;
    }
    return;
  }
  for (let step = Math.abs(k - have); step > 0; step--) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if ((mask[i] === 1) === adding) continue;
      if (pick < 0 || (adding ? better(i, pick) : better(pick, i))) pick = i;
    }
    mask[pick] = adding ? 1 : 0;
  }
}

/**
 * Serpentine Floyd-Steinberg error diffusion of a [0, 1] map. The error needs a few rows to build up (with
 * p = 4% the first six rows came out empty), so the run starts on up to 16 rows mirrored above the image
 * whose output is discarded.
 */
function floydSteinberg(density: Float64Array, width: number, height: number): Uint8Array<ArrayBuffer> {
  const lead = Math.min(16, height - 1);
  const rows = height + lead;
  const p = new Float64Array(width * rows);
  for (let y = 0; y < rows; y++) {
    const source = y < lead ? lead - y : y - lead; // reflect rows 1..lead above row 0
    p.set(density.subarray(source * width, (source + 1) * width), y * width);
  }
  const full = new Uint8Array(width * rows);
  for (let y = 0; y < rows; y++) {
    const leftToRight = y % 2 === 0;
    const dx = leftToRight ? 1 : -1;
    for (let j = 0; j < width; j++) {
      const x = leftToRight ? j : width - 1 - j;
      const i = y * width + x;
      const v = p[i] >= 0.5 ? 1 : 0;
      full[i] = v;
      const e = p[i] - v;
      if (x + dx >= 0 && x + dx < width) p[i + dx] += (e * 7) / 16;
      if (y + 1 < rows) {
        if (x - dx >= 0 && x - dx < width) p[i + width - dx] += (e * 3) / 16;
        p[i + width] += (e * 5) / 16;
        if (x + dx >= 0 && x + dx < width) p[i + width + dx] += e / 16;
      }
    }
  }
  return full.slice(lead * width);
}

function range(scores: Float32Array): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] < min) min = scores[i];
    if (scores[i] > max) max = scores[i];
  }
  return [min, max];
}

/**
 * target = sigmoid(scores - t) for many t: with w_i = exp(max - s_i) computed once, sigmoid(s_i - t) =
 * 1 / (1 + exp(t - max) w_i), one multiply-add per pixel instead of an exp (the bisections evaluate the map
 * 60-80 times).
 */
class LogisticMap {
  private readonly w: Float64Array;
  constructor(
    scores: Float32Array,
    private readonly max: number,
  ) {
    this.w = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) this.w[i] = Math.exp(Math.min(700, max - scores[i]));
  }
  /** Fills target with sigmoid(scores - t); returns its sum and sum of p (1 - p) (= -d sum / dt). */
  atWithSlope(t: number, target: Float64Array): [number, number] {
    const T = Math.exp(t - this.max);
    const w = this.w;
    let sum = 0;
    let slope = 0;
    for (let i = 0; i < w.length; i++) {
      const v = 1 / (1 + T * w[i]);
      target[i] = v;
      sum += v;
      slope += v * (1 - v);
    }
    return [sum, slope];
  }

  /** t with sum ≈ k when every p is small (sum ≈ e^(max - t) Σ 1/w_i). */
  smallDensityGuess(k: number): number {
    let total = 0;
    for (let i = 0; i < this.w.length; i++) total += 1 / this.w[i];
    return this.max + Math.log(total / k);
  }

  /** Fills target with sigmoid(scores - t); returns its sum. */
  at(t: number, target: Float64Array): number {
    const T = Math.exp(t - this.max);
    const w = this.w;
    let sum = 0;
    for (let i = 0; i < w.length; i++) {
      const v = 1 / (1 + T * w[i]);
      target[i] = v;
      sum += v;
    }
    return sum;
  }
}

/** Bisection for the offset t with sum(sigmoid(scores - t)) = k; leaves that map in p, returns [lo, hi]. */
function bisectOffset(
  map: LogisticMap,
  k: number,
  p: Float64Array,
  min: number,
  max: number,
): [number, number] {
  // Newton on sum(p(t)) = k (d sum / dt = -sum p (1 - p)), kept inside a bisection bracket
  let lo = min - 40;
  let hi = max + 40;
  let t = map.smallDensityGuess(k);
  if (!(t > lo && t < hi)) t = (lo + hi) / 2;
  for (let iter = 0; iter < 60; iter++) {
    const [sum, slope] = map.atWithSlope(t, p);
    if (Math.abs(sum - k) <= 1e-9 * k) break;
    if (sum > k) lo = t;
    else hi = t;
    const newton = slope > 0 ? t + (sum - k) / slope : Number.NaN;
    t = newton > lo && newton < hi ? newton : (lo + hi) / 2;
  }
  map.at(t, p);
  return [t, t];
}

/**
 * The density map the dithering realises: p = sigmoid(scores - t) with sum(p) = count (used by training
 * to pass gradients from a dithered mask back to the scores).
 */
export function densityMap(scores: Float32Array, count: number): Float64Array {
  const p = new Float64Array(scores.length);
  const k = Math.max(0, Math.min(scores.length, count));
  if (k === 0 || k === scores.length) return p.fill(k === 0 ? 0 : 1);
  const [min, max] = range(scores);
  bisectOffset(new LogisticMap(scores, max), k, p, min, max);
  return p;
}
