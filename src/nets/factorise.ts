import { DILATIONS, type Weights, type WeightsView } from "./models.ts";
import { tf } from "./tf.ts";

/**
 * Fitting a rank-k bottleneck (ArchOptions.bottleneck) into a trained model, so that a model with the
 * cheaper architecture starts from a trained one instead of from scratch.
 *
 * A decoder block computes Y = Σ_d conv_d(H; W_d): every output is a linear function of the taps H·M,
 * M = [cin × (3 · 25 · cout)] the three dilated kernels side by side. The bottleneck block computes
 * Σ_d conv_d(H·A; B_d): the taps H·A·B. The best A (cin × k), B (k × 75 cout) for the block's actual inputs
 * minimise ||H M − H A B||_F. With G = HᵀH = L Lᵀ this is the best rank-k approximation of Lᵀ M (Eckart–
 * Young): S = Lᵀ M Mᵀ L = P Σ² Pᵀ, B = Σ_k⁻¹ P_kᵀ Lᵀ M (the top right singular vectors of Lᵀ M) and
 * A = M Bᵀ. With k ≥ rank the product A B is exactly M on the span of the inputs (tested).
 */

/** Accumulates G = HᵀH of each probed block input (H: every pixel of the batch as a row). */
export class GramAccumulator {
  readonly grams = new Map<string, { gram: Float64Array; channels: number; rows: number }>();

  constructor(private readonly wanted: ReadonlySet<string>) {}

  readonly probe = (block: string, input: tf.Tensor4D): void => {
    if (!this.wanted.has(block)) return;
    const c = input.shape[3];
    const g = tf.tidy(() => {
      const h = tf.reshape(input, [-1, c]) as tf.Tensor2D;
      return tf.matMul(h, h, true, false);
    });
    const values = g.dataSync();
    g.dispose();
    let entry = this.grams.get(block);
    if (!entry) {
      entry = { gram: new Float64Array(c * c), channels: c, rows: 0 };
      this.grams.set(block, entry);
    }
    for (let i = 0; i < values.length; i++) entry.gram[i] += values[i];
    entry.rows += input.size / c;
  };
}

/** Symmetric eigendecomposition by cyclic Jacobi: eigenvalues (descending) and column eigenvectors. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += m[p * n + p] ** 2;
      for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    }
    if (off <= 1e-26 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const x = m[k * n + p];
          const y = m[k * n + q];
          m[k * n + p] = c * x - s * y;
          m[k * n + q] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = m[p * n + k];
          const y = m[q * n + k];
          m[p * n + k] = c * x - s * y;
          m[q * n + k] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = v[k * n + p];
          const y = v[k * n + q];
          v[k * n + p] = c * x - s * y;
          v[k * n + q] = s * x + c * y;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/** C = A·B for row-major A [r × s], B [s × t]. */
function matmul(a: Float64Array, b: Float64Array, r: number, s: number, t: number): Float64Array {
  const c = new Float64Array(r * t);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < s; j++) {
      const x = a[i * s + j];
      if (x === 0) continue;
      for (let k = 0; k < t; k++) c[i * t + k] += x * b[j * t + k];
    }
  }
  return c;
}

function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

/**
 * A (cin × k) and B (k × cols) with H A B ≈ H M for inputs whose Gram matrix is `gram` (cin × cin).
 * Returns the fraction of ||H M||² kept as well.
 */
export function fitLowRank(
  m: Float64Array,
  gram: Float64Array,
  cin: number,
  cols: number,
  k: number,
): { a: Float64Array; b: Float64Array; kept: number } {
  // L = Q Λ^½ (G = L Lᵀ); eigenvalues below round-off are directions the inputs never take
  const g = symmetricEigen(gram, cin);
  const l = new Float64Array(cin * cin);
  for (let i = 0; i < cin; i++) {
    for (let j = 0; j < cin; j++)
      l[i * cin + j] = g.vectors[i * cin + j] * Math.sqrt(Math.max(g.values[j], 0));
  }
  const ltm = matmul(transpose(l, cin, cin), m, cin, cin, cols); // Lᵀ M [cin × cols]
  const s = matmul(ltm, transpose(ltm, cin, cols), cin, cols, cin); // Lᵀ M Mᵀ L
  const e = symmetricEigen(s, cin);
  const total = e.values.reduce((acc, x) => acc + Math.max(x, 0), 0);
  const b = new Float64Array(k * cols);
  let kept = 0;
  for (let j = 0; j < k && j < cin; j++) {
    const sigma2 = e.values[j];
    if (!(sigma2 > total * 1e-12)) continue;
    kept += sigma2;
    const inv = 1 / Math.sqrt(sigma2);
    for (let i = 0; i < cin; i++) {
      const p = e.vectors[i * cin + j] * inv;
      if (p === 0) continue;
      for (let c = 0; c < cols; c++) b[j * cols + c] += p * ltm[i * cols + c];
    }
  }
  const a = matmul(m, transpose(b, k, cols), cin, cols, k);
  return { a, b, kept: total > 0 ? kept / total : 1 };
}

/**
 * Sets the bottleneck weights of `target` (reduce kernels and the narrowed dilated kernels of every block
 * that has one) from the full kernels of `source` and the Gram matrices of the blocks' inputs. Biases and
 * every other weight are copied by the caller. Returns the kept fraction per block.
 */
export function fitBottlenecks(
  source: WeightsView,
  target: Weights,
  grams: GramAccumulator["grams"],
): Map<string, number> {
  const kept = new Map<string, number>();
  for (const [name, variable] of target) {
    const match = /^(.*)\/reduce\/kernel$/.exec(name);
    if (!match) continue;
    const block = match[1];
    const entry = grams.get(block);
    if (!entry) throw new Error(`no inputs seen for ${block}`);
    const [, , cin, k] = variable.shape;
    const kernels = DILATIONS.map((d) => {
      const t = source.get(`${block}/d${d}/kernel`);
      if (!t) throw new Error(`missing weight ${block}/d${d}/kernel`);
      return t;
    });
    const [kh, kw, srcCin, cout] = kernels[0].shape;
    if (srcCin !== cin || entry.channels !== cin)
      throw new Error(`${block}: ${srcCin} inputs, expected ${cin}`);
    const taps = kh * kw;
    const cols = DILATIONS.length * taps * cout;
    // M[i][(d, t, o)] = W_d[t, i, o]
    const m = new Float64Array(cin * cols);
    kernels.forEach((kernel, di) => {
      const w = kernel.dataSync();
      for (let t = 0; t < taps; t++) {
        for (let i = 0; i < cin; i++) {
          for (let o = 0; o < cout; o++)
            m[i * cols + (di * taps + t) * cout + o] = w[(t * cin + i) * cout + o];
        }
      }
    });
    const fit = fitLowRank(m, entry.gram, cin, cols, k);
    variable.assign(tf.tensor4d(Float32Array.from(fit.a), [1, 1, cin, k]));
    DILATIONS.forEach((d, di) => {
      const w = new Float32Array(taps * k * cout);
      for (let t = 0; t < taps; t++) {
        for (let j = 0; j < k; j++) {
          for (let o = 0; o < cout; o++)
            w[(t * k + j) * cout + o] = fit.b[j * cols + (di * taps + t) * cout + o];
        }
      }
      const v = target.get(`${block}/d${d}/kernel`);
      if (!v) throw new Error(`missing weight ${block}/d${d}/kernel`);
      v.assign(tf.tensor4d(w, [kh, kw, k, cout]));
    });
    kept.set(block, fit.kept);
  }
  return kept;
}
