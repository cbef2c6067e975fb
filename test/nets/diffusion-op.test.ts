import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { diffusionInput, diffusionInterpolation } from "../../src/nets/diffusion-op.ts";
import { Rng } from "../../src/nets/ops.ts";
import { setupTf } from "./helpers.ts";

/**
 * Reference in float64: the relaxed system c_i (u_i - f_i) - (1 - c_i) (L u)_i = 0 with real c, solved
 * densely (Gaussian elimination), one channel. E(c) = sum(g * u(c)); central differences in c_i give the
 * gradient the op must return at a binary c.
 */
function denseSolve(c: Float64Array, f: Float64Array, w: number, h: number): Float64Array {
  const n = w * h;
  const a = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const nb: number[] = [];
      if (x > 0) nb.push(i - 1);
      if (x < w - 1) nb.push(i + 1);
      if (y > 0) nb.push(i - w);
      if (y < h - 1) nb.push(i + w);
      // c (u - f) - (1 - c) sum_j (u_j - u_i) = 0
      a[i][i] += c[i] + (1 - c[i]) * nb.length;
      for (const j of nb) a[i][j] -= 1 - c[i];
      a[i][n] = c[i] * f[i];
    }
  }
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r][k]) > Math.abs(a[piv][k])) piv = r;
    [a[k], a[piv]] = [a[piv], a[k]];
    for (let r = 0; r < n; r++) {
      if (r === k) continue;
      const m = a[r][k] / a[k][k];
      if (m !== 0) for (let j = k; j <= n; j++) a[r][j] -= m * a[k][j];
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i][n] / a[i][i]);
}

/** d energy / d x_i by central differences (step 1e-5). */
function centralDifference(energy: (x: Float64Array) => number, x: Float64Array, i: number): number {
  const eps = 1e-5;
  const plus = Float64Array.from(x);
  const minus = Float64Array.from(x);
  plus[i] += eps;
  minus[i] -= eps;
  return (energy(plus) - energy(minus)) / (2 * eps);
}

/**
 * A 6x5 one-channel problem from a seed: values f, weights g of the energy E = sum(g * u), a mask c (pixel 0
 * known); the dense energy for any (c, f), and the op's gradient of E with respect to the mask or the values.
 */
function gradientProblem(seed: number) {
  const w = 6;
  const h = 5;
  const n = w * h;
  const rng = new Rng(seed);
  const f = Float64Array.from({ length: n }, () => rng.next());
  const g = Float64Array.from({ length: n }, () => rng.next() - 0.5);
  const c = Float64Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  c[0] = 1;
  const tensor = (a: Float64Array) => tf.tensor4d(Float32Array.from(a), [1, h, w, 1]);
  const energy = (cc: Float64Array, ff: Float64Array) =>
    denseSolve(cc, ff, w, h).reduce((s, v, i) => s + v * g[i], 0);
  const opGradient = (of: "mask" | "values") =>
    tf
      .grad((x: tf.Tensor) => {
        const u =
          of === "mask"
            ? diffusionInterpolation(tensor(f), x as tf.Tensor4D)
            : diffusionInterpolation(x as tf.Tensor4D, tensor(c));
        return tf.sum(tf.mul(u, tensor(g)));
      })(tensor(of === "mask" ? c : f))
      .dataSync();
  return { n, f, c, energy, opGradient };
}

describe("diffusionInterpolation", () => {
  beforeAll(setupTf);

  it("matches the dense solve and keeps known pixels", () => {
    const w = 7;
    const h = 5;
    const rng = new Rng(3);
    const f = Float64Array.from({ length: w * h }, () => rng.next());
    const c = Float64Array.from({ length: w * h }, (_, i) => (i % 4 === 1 ? 1 : 0));
    const u = diffusionInterpolation(
      tf.tensor4d(Float32Array.from(f), [1, h, w, 1]),
      tf.tensor4d(Float32Array.from(c), [1, h, w, 1]),
    ).dataSync();
    const ref = denseSolve(c, f, w, h);
    for (let i = 0; i < w * h; i++) {
      expect(Math.abs(u[i] - ref[i])).toBeLessThan(1e-4);
      if (c[i]) expect(u[i]).toBeCloseTo(f[i], 6);
    }
  });

  it("returns the gradient of the relaxed system with respect to the mask", () => {
    const { n, f, c, energy, opGradient } = gradientProblem(11);
    const grad = opGradient("mask");
    let checked = 0;
    for (let i = 0; i < n; i++) {
      const numeric = centralDifference((cc) => energy(cc, f), c, i);
      expect(Math.abs(grad[i] - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
      if (Math.abs(numeric) > 1e-3) checked++;
    }
    expect(checked).toBeGreaterThan(n / 2);
  });

  it("returns the gradient with respect to the known values (and none to the unknown ones)", () => {
    const { n, f, c, energy, opGradient } = gradientProblem(17);
    const grad = opGradient("values");
    let known = 0;
    for (let i = 0; i < n; i++) {
      const numeric = centralDifference((ff) => energy(c, ff), f, i);
      expect(Math.abs(grad[i] - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
      if (c[i]) {
        known++;
        expect(Math.abs(numeric)).toBeGreaterThan(1e-3); // every known value moves the energy
      } else expect(grad[i]).toBe(0);
    }
    expect(known).toBeGreaterThan(3);
  });

  it("handles several channels and samples, and an empty mask", () => {
    const f = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const m = new Float32Array(2 * 64);
    m[5] = 1;
    m[40] = 1;
    const u = diffusionInterpolation(f, tf.tensor4d(m, [2, 8, 8, 1])).arraySync() as number[][][][];
    const fa = f.arraySync() as number[][][][];
    // one known pixel... two in sample 0: values between them; sample 1 has none: mid-grey
    for (let c = 0; c < 3; c++) {
      expect(u[0][0][5][c]).toBeCloseTo(fa[0][0][5][c], 5);
      expect(u[1][3][3][c]).toBe(0.5);
    }
  });

  it("at inference gives the values of diffusionInput, which the tiled decoder solves apart, per channel or not", () => {
    const w = 40;
    const h = 24;
    const rng = new Rng(3);
    const f = Float32Array.from({ length: w * h * 3 }, () => rng.next());
    const b = Float32Array.from({ length: w * h }, () => (rng.next() < 0.1 ? 1 : 0));
    const op = diffusionInterpolation(tf.tensor4d(f, [1, h, w, 3]), tf.tensor4d(b, [1, h, w, 1]));
    const opValues = op.dataSync() as Float32Array;
    const joint = diffusionInput(f, b, w, h, 3);
    expect(Buffer.from(joint.buffer).equals(Buffer.from(opValues.buffer))).toBe(true);
    const perChannel = diffusionInput(f, b, w, h, 3, undefined, 100);
    expect(Buffer.from(perChannel.buffer).equals(Buffer.from(joint.buffer))).toBe(true);
    // a looser tolerance stops earlier (format version 6's 1e-3 against 1e-4): other values
    expect(Buffer.from(diffusionInput(f, b, w, h, 3, 0.3).buffer).equals(Buffer.from(joint.buffer))).toBe(
      false,
    );
    expect(diffusionInput(f, new Float32Array(w * h), w, h, 3).every((v) => v === 0.5)).toBe(true);
  });
});
