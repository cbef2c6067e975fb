/**
 * Rate–distortion curve arithmetic: interpolation at matched rates, means over images, and the
 * Bjøntegaard deltas (BD-rate, BD-PSNR) in both the classic cubic-polynomial form (VCEG-M33) and the
 * piecewise-cubic (PCHIP) form used by later VCEG/JVET and AOM tools. Pure functions, no I/O.
 */

/** One measured point of a curve: rate in bits per pixel and a quality value (PSNR in dB, SSIM, ...). */
export interface RdPoint {
  bpp: number;
  value: number;
}

/**
 * Sorts by rate and merges points of equal rate (mean of their values). Non-finite points are dropped
 * (an infinite PSNR from a lossless encoding cannot be interpolated).
 */
export function normaliseCurve(points: readonly RdPoint[]): RdPoint[] {
  const finite = points.filter((p) => Number.isFinite(p.bpp) && p.bpp > 0 && Number.isFinite(p.value));
  finite.sort((a, b) => a.bpp - b.bpp);
  const out: RdPoint[] = [];
  let i = 0;
  while (i < finite.length) {
    let j = i;
    let sum = 0;
    while (j < finite.length && finite[j].bpp === finite[i].bpp) sum += finite[j++].value;
    out.push({ bpp: finite[i].bpp, value: sum / (j - i) });
    i = j;
  }
  return out;
}

/**
 * The curve's value at `bpp`, linear in log-rate between the two neighbouring measured points.
 * Undefined outside the measured range (no extrapolation: a codec that never reached a rate has no
 * value there). `curve` must be normalised (sorted, unique rates).
 */
export function interpolateAt(curve: readonly RdPoint[], bpp: number): number | undefined {
  const n = curve.length;
  if (n === 0 || !(bpp > 0)) return undefined;
  if (bpp < curve[0].bpp || bpp > curve[n - 1].bpp) return undefined;
  if (n === 1) return curve[0].value;
  let hi = 1;
  while (hi < n - 1 && curve[hi].bpp < bpp) hi++;
  const a = curve[hi - 1];
  const b = curve[hi];
  if (bpp === a.bpp) return a.value;
  if (bpp === b.bpp) return b.value;
  const t = (Math.log(bpp) - Math.log(a.bpp)) / (Math.log(b.bpp) - Math.log(a.bpp));
  return a.value + t * (b.value - a.value);
}

/** `count` rates spaced evenly in log-rate from `min` to `max` inclusive. */
export function logGrid(min: number, max: number, count: number): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  if (count <= 1 || min === max) return [min];
  const a = Math.log(min);
  const step = (Math.log(max) - a) / (count - 1);
  return Array.from({ length: count }, (_, i) =>
    i === 0 ? min : i === count - 1 ? max : Math.exp(a + i * step),
  );
}

export interface MeanPoint {
  bpp: number;
  /** Mean over the images that reach this rate; undefined when fewer than `required` do. */
  value: number | undefined;
  /** How many images reach this rate. */
  reached: number;
}

/**
 * The mean over images at matched rates: each image's curve is interpolated at every grid rate and the
 * values averaged. A grid rate that some image's curve does not reach gets `value: undefined` unless
 * `minImages` is lowered (default: all images must reach it), so the mean never mixes different
 * subsets of images silently.
 */
export function meanAtRates(
  curves: readonly (readonly RdPoint[])[],
  rates: readonly number[],
  minImages = curves.length,
): MeanPoint[] {
  const normalised = curves.map(normaliseCurve);
  return rates.map((bpp) => {
    let sum = 0;
    let reached = 0;
    for (const curve of normalised) {
      const v = interpolateAt(curve, bpp);
      if (v !== undefined) {
        sum += v;
        reached++;
      }
    }
    const enough = reached > 0 && reached >= minImages;
    return { bpp, value: enough ? sum / reached : undefined, reached };
  });
}

/** The rate range every curve covers: [max of minima, min of maxima], or undefined if they do not overlap. */
export function commonRange(curves: readonly (readonly RdPoint[])[]): [number, number] | undefined {
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  for (const raw of curves) {
    const c = normaliseCurve(raw);
    if (c.length === 0) return undefined;
    lo = Math.max(lo, c[0].bpp);
    hi = Math.min(hi, c[c.length - 1].bpp);
  }
  return curves.length > 0 && lo <= hi ? [lo, hi] : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Bjøntegaard deltas

export type BdMethod = "cubic" | "pchip";

/** Least-squares polynomial fit; returns coefficients c[0] + c[1] x + ... (normal equations, small degree). */
export function polyfit(xs: readonly number[], ys: readonly number[], degree: number): number[] {
  const m = degree + 1;
  // Centre and scale x for conditioning; fit in t = (x - mu) / s, then convert back.
  const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = Math.max(...xs.map((x) => Math.abs(x - mu))) || 1;
  const a: number[][] = Array.from({ length: m }, () => new Array(m + 1).fill(0));
  for (let k = 0; k < xs.length; k++) {
    const t = (xs[k] - mu) / s;
    const powers = [1];
    for (let p = 1; p < 2 * m; p++) powers.push(powers[p - 1] * t);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) a[i][j] += powers[i + j];
      a[i][m] += powers[i] * ys[k];
    }
  }
  // Gaussian elimination with partial pivoting.
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const d = a[col][col];
    if (d === 0) throw new Error("polyfit: singular system (too few distinct points)");
    for (let r = 0; r < m; r++) {
      if (r === col) continue;
      const f = a[r][col] / d;
      for (let c = col; c <= m; c++) a[r][c] -= f * a[col][c];
    }
  }
  const ct = a.map((row, i) => row[m] / row[i]);
  // Expand sum ct[i] ((x - mu)/s)^i into powers of x.
  const out = new Array(m).fill(0);
  for (let i = 0; i < m; i++) {
    // ((x - mu)/s)^i = s^-i * sum_k C(i,k) x^k (-mu)^(i-k)
    let binom = 1;
    for (let k = 0; k <= i; k++) {
      out[k] += (ct[i] / s ** i) * binom * (-mu) ** (i - k);
      binom = (binom * (i - k)) / (k + 1);
    }
  }
  return out;
}

/** Definite integral of the polynomial c over [a, b]. */
function polyIntegral(c: readonly number[], a: number, b: number): number {
  let sum = 0;
  for (let i = 0; i < c.length; i++) sum += (c[i] * (b ** (i + 1) - a ** (i + 1))) / (i + 1);
  return sum;
}

/** PCHIP (Fritsch–Carlson) slopes at the knots; xs strictly increasing. */
function pchipSlopes(xs: readonly number[], ys: readonly number[]): number[] {
  const n = xs.length;
  const h = xs.slice(1).map((x, i) => x - xs[i]);
  const delta = h.map((hi, i) => (ys[i + 1] - ys[i]) / hi);
  const d = new Array(n).fill(0);
  if (n === 2) return [delta[0], delta[0]];
  for (let k = 1; k < n - 1; k++) {
    if (delta[k - 1] * delta[k] > 0) {
      const w1 = 2 * h[k] + h[k - 1];
      const w2 = h[k] + 2 * h[k - 1];
      d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k]);
    }
  }
  const end = (h0: number, h1: number, d0: number, d1: number): number => {
    let v = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if (Math.sign(v) !== Math.sign(d0)) v = 0;
    else if (Math.sign(d0) !== Math.sign(d1) && Math.abs(v) > Math.abs(3 * d0)) v = 3 * d0;
    return v;
  };
  d[0] = end(h[0], h[1], delta[0], delta[1]);
  d[n - 1] = end(h[n - 2], h[n - 3], delta[n - 2], delta[n - 3]);
  return d;
}

/** Integral over [a, b] (inside [xs[0], xs[n-1]]) of the PCHIP interpolant through (xs, ys). */
export function pchipIntegral(xs: readonly number[], ys: readonly number[], a: number, b: number): number {
  const d = pchipSlopes(xs, ys);
  let total = 0;
  for (let k = 0; k < xs.length - 1; k++) {
    const x0 = xs[k];
    const x1 = xs[k + 1];
    const lo = Math.max(a, x0);
    const hi = Math.min(b, x1);
    if (hi <= lo) continue;
    const h = x1 - x0;
    // Hermite cubic in u = (x - x0)/h: y0 h00 + h d0 h10 + y1 h01 + h d1 h11; integrate basis over [u0, u1].
    const u0 = (lo - x0) / h;
    const u1 = (hi - x0) / h;
    const F = (u: number): [number, number, number, number] => [
      u ** 4 / 2 - u ** 3 + u, // ∫ 2u³ − 3u² + 1
      u ** 4 / 4 - (2 * u ** 3) / 3 + u ** 2 / 2, // ∫ u³ − 2u² + u
      -(u ** 4) / 2 + u ** 3, // ∫ −2u³ + 3u²
      u ** 4 / 4 - u ** 3 / 3, // ∫ u³ − u²
    ];
    const f1 = F(u1);
    const f0 = F(u0);
    const basis = f1.map((v, i) => v - f0[i]);
    total += h * (ys[k] * basis[0] + h * d[k] * basis[1] + ys[k + 1] * basis[2] + h * d[k + 1] * basis[3]);
  }
  return total;
}

/** Average of y(x) over [a, b] for points (xs, ys) under the chosen model; undefined if it cannot be fitted. */
function averageOver(
  xs: readonly number[],
  ys: readonly number[],
  a: number,
  b: number,
  method: BdMethod,
): number | undefined {
  if (method === "cubic") {
    const degree = Math.min(3, xs.length - 1);
    if (degree < 1) return undefined;
    try {
      return polyIntegral(polyfit(xs, ys, degree), a, b) / (b - a);
    } catch {
      return undefined; // fewer distinct x than the degree needs
    }
  }
  // PCHIP needs strictly increasing x: sort, and merge equal x by mean.
  const order = xs.map((x, i) => [x, ys[i]] as const).sort((p, q) => p[0] - q[0]);
  const ux: number[] = [];
  const uy: number[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    let sum = 0;
    while (j < order.length && order[j][0] === order[i][0]) sum += order[j++][1];
    ux.push(order[i][0]);
    uy.push(sum / (j - i));
    i = j;
  }
  if (ux.length < 2) return undefined;
  return pchipIntegral(ux, uy, a, b) / (b - a);
}

export interface BdResult {
  /** Percent rate change of `test` against `anchor` at equal quality (negative = test saves bits). */
  bdRate: number | undefined;
  /** Mean quality gain of `test` over `anchor` at equal rate (dB for PSNR). */
  bdQuality: number | undefined;
}

/**
 * Bjøntegaard deltas of `test` against `anchor`. BD-rate integrates ln(rate) as a function of quality
 * over the overlap of the two quality ranges; BD-quality integrates quality as a function of ln(rate)
 * over the overlap of the two rate ranges. "cubic": least-squares cubic (lower degree with fewer than
 * four points), as in VCEG-M33; "pchip": piecewise cubic Hermite, as in VCEG-AL22 / JVET / AOM CTC.
 * Either value is undefined when the ranges do not overlap or a curve has fewer than two points.
 */
export function bjontegaard(
  anchor: readonly RdPoint[],
  test: readonly RdPoint[],
  method: BdMethod = "cubic",
): BdResult {
  const A = normaliseCurve(anchor);
  const T = normaliseCurve(test);
  if (A.length < 2 || T.length < 2) return { bdRate: undefined, bdQuality: undefined };
  const lrA = A.map((p) => Math.log(p.bpp));
  const lrT = T.map((p) => Math.log(p.bpp));
  const qA = A.map((p) => p.value);
  const qT = T.map((p) => p.value);

  let bdRate: number | undefined;
  const qLo = Math.max(Math.min(...qA), Math.min(...qT));
  const qHi = Math.min(Math.max(...qA), Math.max(...qT));
  if (qHi > qLo) {
    const ia = averageOver(qA, lrA, qLo, qHi, method);
    const it = averageOver(qT, lrT, qLo, qHi, method);
    if (ia !== undefined && it !== undefined) bdRate = (Math.exp(it - ia) - 1) * 100;
  }

  let bdQuality: number | undefined;
  const rLo = Math.max(lrA[0], lrT[0]);
  const rHi = Math.min(lrA[lrA.length - 1], lrT[lrT.length - 1]);
  if (rHi > rLo) {
    const ia = averageOver(lrA, qA, rLo, rHi, method);
    const it = averageOver(lrT, qT, rLo, rHi, method);
    if (ia !== undefined && it !== undefined) bdQuality = it - ia;
  }
  return { bdRate, bdQuality };
}
