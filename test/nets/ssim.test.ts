import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ssim } from "../../src/image/metrics.ts";
import { createImage } from "../../src/image/types.ts";
import { Rng } from "../../src/nets/ops.ts";
import { ssimPerImage } from "../../src/nets/ssim.ts";
import { setupTf } from "./helpers.ts";

/** A smooth random image on [0, 1] plus noise: structure for SSIM to see. */
function image(rng: Rng, w: number, h: number, noise: number): Float32Array {
  const out = new Float32Array(w * h * 3);
  const fx = 0.2 + rng.next() * 0.5;
  const fy = 0.2 + rng.next() * 0.5;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.3 * Math.sin(fx * x + c) * Math.cos(fy * y) + noise * (rng.next() - 0.5);
        out[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

describe("ssimPerImage (the SSIM training loss)", () => {
  beforeAll(setupTf);

  it("equals the benchmarks' SSIM of src/image/metrics.ts, per image", () => {
    const rng = new Rng(7);
    for (const [w, h] of [
      [24, 20],
      [9, 13],
    ]) {
      const n = 3;
      const a = new Float32Array(n * w * h * 3);
      const b = new Float32Array(n * w * h * 3);
      for (let i = 0; i < n; i++) {
        a.set(image(rng, w, h, 0.1), i * w * h * 3);
        b.set(image(rng, w, h, 0.4), i * w * h * 3);
      }
      const got = ssimPerImage(tf.tensor4d(a, [n, h, w, 3]), tf.tensor4d(b, [n, h, w, 3])).dataSync();
      for (let i = 0; i < n; i++) {
        const slice = (d: Float32Array) => d.slice(i * w * h * 3, (i + 1) * w * h * 3).map((v) => v * 255);
        const want = ssim(createImage(w, h, 3, slice(a)), createImage(w, h, 3, slice(b)));
        expect(Math.abs(got[i] - want)).toBeLessThan(2e-5);
      }
      // an image against itself
      const self = ssimPerImage(tf.tensor4d(a, [n, h, w, 3]), tf.tensor4d(a, [n, h, w, 3])).dataSync();
      for (const v of self) expect(v).toBeCloseTo(1, 5);
    }
  });

  it("has the gradient of its value (central differences)", () => {
    const rng = new Rng(11);
    const w = 16;
    const h = 14;
    const a = image(rng, w, h, 0.2);
    const b = image(rng, w, h, 0.5);
    const bt = tf.tensor4d(b, [1, h, w, 3]);
    const f = (x: tf.Tensor4D) => tf.sum(ssimPerImage(x, bt)) as tf.Scalar;
    const grad = tf
      .grad((x) => f(x as tf.Tensor4D))(tf.tensor4d(a, [1, h, w, 3]))
      .dataSync();
    const eps = 1e-2;
    let checked = 0;
    // interior pixels, which many windows see (a corner pixel's gradient is below float32's resolution here)
    const interior = [
      [7, 8, 0],
      [5, 6, 1],
      [9, 10, 2],
      [6, 9, 0],
      [8, 5, 1],
    ];
    for (const i of interior.map(([y, x, c]) => (y * w + x) * 3 + c)) {
      const plus = Float32Array.from(a);
      const minus = Float32Array.from(a);
      plus[i] += eps;
      minus[i] -= eps;
      const numeric =
        (f(tf.tensor4d(plus, [1, h, w, 3])).dataSync()[0] -
          f(tf.tensor4d(minus, [1, h, w, 3])).dataSync()[0]) /
        (2 * eps);
      expect(Math.abs(grad[i] - numeric)).toBeLessThan(0.02 * Math.abs(numeric) + 2e-5);
      if (Math.abs(numeric) > 1e-4) checked++;
    }
    expect(checked).toBe(interior.length);
  });
});
