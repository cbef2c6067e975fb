import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { topCountMask } from "../../src/mask/topk.ts";
import { hardSigmoid, maxPool2, scaleGradient, straightThroughRound, upsample2 } from "../../src/nets/ops.ts";
import { setupTf } from "./helpers.ts";

describe("straight-through binarisation", () => {
  beforeAll(setupTf);

  it("rounds confidences in [0, 1] to 0 or 1 in the forward pass", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (values) => {
          const out = straightThroughRound(tf.tensor1d(values)).dataSync();
          values.forEach((v, i) => {
            expect(out[i]).toBe(Math.floor(Math.fround(v) + 0.5));
            expect(out[i] === 0 || out[i] === 1).toBe(true);
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it("passes the gradient through unchanged in the backward pass", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.float({ min: 0, max: 1, noNaN: true }), fc.float({ min: -5, max: 5, noNaN: true })),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (pairs) => {
          const c = tf.tensor1d(pairs.map((p) => p[0]));
          const w = tf.tensor1d(pairs.map((p) => p[1]));
          const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(straightThroughRound(x), w)))(c);
          expect(Array.from(g.dataSync())).toEqual(Array.from(w.dataSync()));
        },
      ),
      { numRuns: 20 },
    );
  });

  it("keeps hard sigmoid outputs inside [0, 1]", () => {
    const out = hardSigmoid(tf.tensor1d([-100, -2.5, 0, 2.5, 100])).dataSync();
    expect(Array.from(out)).toEqual([0, 0, 0.5, 1, 1]);
  });

  it("scales only the gradient with scaleGradient", () => {
    const x = tf.tensor1d([1, -2, 3]);
    expect(Array.from(scaleGradient(x, 0.25).dataSync())).toEqual([1, -2, 3]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(scaleGradient(v, 0.25)))(x);
    expect(Array.from(g.dataSync())).toEqual([0.25, 0.25, 0.25]);
  });

  it("upsamples by repeating each pixel into a 2x2 block", () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = upsample2(x).arraySync()[0];
    expect(y[0][0]).toEqual([1, 2]);
    expect(y[1][1]).toEqual([1, 2]);
    expect(y[0][2]).toEqual([3, 4]);
    expect(y[3][3]).toEqual([7, 8]);
    expect(y[2][1]).toEqual([5, 6]);
  });
});

describe("exact-count mask from scores", () => {
  it("keeps exactly count pixels, and every kept score is at least every dropped one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        (ints, c) => {
          const scores = Float32Array.from(ints);
          const count = c % (scores.length + 1);
          const mask = topCountMask(scores, scores.length, count);
          expect(mask.reduce((s, v) => s + v, 0)).toBe(count);
          let minKept = Number.POSITIVE_INFINITY;
          let maxDropped = Number.NEGATIVE_INFINITY;
          scores.forEach((s, i) => {
            if (mask[i]) minKept = Math.min(minKept, s);
            else maxDropped = Math.max(maxDropped, s);
          });
          if (count > 0 && count < scores.length) expect(minKept).toBeGreaterThanOrEqual(maxDropped);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("breaks ties by position, lowest index first", () => {
    expect(Array.from(topCountMask(new Float32Array([1, 1, 1, 1]), 4, 2))).toEqual([1, 1, 0, 0]);
    expect(Array.from(topCountMask(new Float32Array([0, 2, 1, 2, 1]), 5, 3))).toEqual([0, 1, 1, 1, 0]);
  });

  it("handles each sample of a batch separately", () => {
    const mask = topCountMask(new Float32Array([3, 2, 1, 1, 2, 3]), 3, 1);
    expect(Array.from(mask)).toEqual([1, 0, 0, 0, 0, 1]);
  });
});

describe("binarisation of logits with a straight-through gradient", () => {
  beforeAll(setupTf);

  it("equals rounding the hard sigmoid forward, and has gradient 0.2 even where the hard sigmoid saturates", async () => {
    const { binariseLogits } = await import("../../src/nets/ops.ts");
    const z = tf.tensor1d([-10, -2.6, -0.1, 0.1, 2.6, 10]);
    expect(Array.from(binariseLogits(z).dataSync())).toEqual(
      Array.from(straightThroughRound(hardSigmoid(z)).dataSync()),
    );
    const g = tf
      .grad((x: tf.Tensor) => tf.sum(binariseLogits(x)))(z)
      .dataSync();
    for (const v of g) expect(v).toBeCloseTo(0.2, 6);
  });
});

function maxPool2Grad(x: tf.Tensor4D): Float32Array {
  return tf
    .grad((v: tf.Tensor) => tf.sum(maxPool2(v as tf.Tensor4D)))(x)
    .dataSync() as Float32Array;
}

describe("2x2 max-pooling with its own gradient", () => {
  beforeAll(setupTf);

  /** dy routed to the first (row-major) maximum of each 2x2 window: the gradient TensorFlow defines. */
  function exactGradient(x: number[], dy: number[], shape: [number, number, number, number]): number[] {
    const [n, h, w, c] = shape;
    const out = new Array<number>(x.length).fill(0);
    const at = (b: number, y: number, xx: number, ch: number) => ((b * h + y) * w + xx) * c + ch;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h / 2; y++) {
        for (let xx = 0; xx < w / 2; xx++) {
          for (let ch = 0; ch < c; ch++) {
            let best = -1;
            for (const [dy2, dx2] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ]) {
              const i = at(b, 2 * y + dy2, 2 * xx + dx2, ch);
              if (best < 0 || x[i] > x[best]) best = i;
            }
            out[best] += dy[((b * (h / 2) + y) * (w / 2) + xx) * c + ch];
          }
        }
      }
    }
    return out;
  }

  it("gives tf.maxPool's values and routes dy to each window's first maximum, negative windows and ties too", () => {
    const shape: [number, number, number, number] = [2, 4, 6, 3];
    const size = 2 * 4 * 6 * 3;
    fc.assert(
      fc.property(
        // small integers: many all-negative windows and many ties
        fc.array(fc.integer({ min: -4, max: 2 }), { minLength: size, maxLength: size }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: size / 4, maxLength: size / 4 }),
        (xs, dys) => {
          const x = tf.tensor4d(xs, shape);
          const dy = tf.tensor4d(dys, [2, 2, 3, 3]);
          expect(Array.from(maxPool2(x).dataSync())).toEqual(
            Array.from(tf.maxPool(x, 2, 2, "valid").dataSync()),
          );
          const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(maxPool2(v as tf.Tensor4D), dy)))(x);
          expect(Array.from(g.dataSync())).toEqual(exactGradient(xs, dys, shape));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("is needed: the wasm backend's own max-pool gradient drops windows whose values are all negative", () => {
    // if this starts failing, tfjs fixed MaxPoolGrad and maxPool2 could go back to tf.maxPool
    const x = tf.tensor4d([-1, -5, -2, -6, -3, -7, -4, -8], [1, 2, 4, 1]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, "valid")))(x);
    // the right gradient: 1 at each window's maximum (-1 at index 0, -2 at index 2)
    expect(Array.from(g.dataSync())).not.toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(maxPool2Grad(x))).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
  });
});
