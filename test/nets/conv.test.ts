import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { conv2d } from "../../src/nets/conv.ts";
import { Rng } from "../../src/nets/ops.ts";
import { setupTf } from "./helpers.ts";

/**
 * Reference in float64: TF "same" convolution by direct summation, and the scalar L = sum(w * conv(x, f)).
 * L is bilinear in (x, f), so central differences give its gradient up to rounding.
 */
function referenceLoss(
  x: Float64Array,
  xs: number[],
  f: Float64Array,
  fs: number[],
  w: Float64Array,
  s: number,
  d: number,
): number {
  const [n, h, wd, cin] = xs;
  const [k, , , cout] = fs;
  const oh = Math.ceil(h / s);
  const ow = Math.ceil(wd / s);
  const eff = d * (k - 1) + 1;
  const top = Math.floor(Math.max(0, (oh - 1) * s + eff - h) / 2);
  const left = Math.floor(Math.max(0, (ow - 1) * s + eff - wd) / 2);
  let total = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < cout; o++) {
          let acc = 0;
          for (let a = 0; a < k; a++)
            for (let bb = 0; bb < k; bb++) {
              const y = i * s + a * d - top;
              const xx = j * s + bb * d - left;
              if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
              for (let c = 0; c < cin; c++)
                acc += x[((b * h + y) * wd + xx) * cin + c] * f[((a * k + bb) * cin + c) * cout + o];
            }
          total += acc * w[((b * oh + i) * ow + j) * cout + o];
        }
  return total;
}

function numericalGradient(values: Float64Array, loss: () => number): Float64Array {
  const eps = 1e-3;
  const g = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    values[i] = v + eps;
    const up = loss();
    values[i] = v - eps;
    const down = loss();
    values[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err / scale;
}

describe("conv2d with its own gradient", () => {
  beforeAll(setupTf);

  const cases: Array<{ stride: number; dilation: number; h: number; w: number }> = [
    { stride: 1, dilation: 1, h: 7, w: 6 },
    { stride: 1, dilation: 2, h: 7, w: 9 },
    { stride: 1, dilation: 5, h: 6, w: 8 },
    { stride: 2, dilation: 1, h: 8, w: 8 },
    { stride: 2, dilation: 1, h: 7, w: 9 },
  ];

  for (const { stride, dilation, h, w } of cases) {
    it(`matches numerical gradients for stride ${stride}, dilation ${dilation} on ${h}x${w}`, () => {
      const rng = new Rng(stride * 31 + dilation * 7 + h);
      const xs = [2, h, w, 2];
      const fs = [5, 5, 2, 3];
      const oh = Math.ceil(h / stride);
      const ow = Math.ceil(w / stride);
      const x = Float64Array.from({ length: 2 * h * w * 2 }, () => rng.next() * 2 - 1);
      const f = Float64Array.from({ length: 5 * 5 * 2 * 3 }, () => rng.next() * 2 - 1);
      const wt = Float64Array.from({ length: 2 * oh * ow * 3 }, () => rng.next() * 2 - 1);
      const loss = () => referenceLoss(x, xs, f, fs, wt, stride, dilation);
      const gxNum = numericalGradient(x, loss);
      const gfNum = numericalGradient(f, loss);

      const xt = tf.tensor4d(Float32Array.from(x), xs as [number, number, number, number]);
      const ft = tf.tensor4d(Float32Array.from(f), fs as [number, number, number, number]);
      const wtT = tf.tensor4d(Float32Array.from(wt), [2, oh, ow, 3]);
      const y = conv2d(xt, ft, { stride, dilation });
      expect(y.shape).toEqual([2, oh, ow, 3]);
      expect(tf.sum(tf.mul(y, wtT)).dataSync()[0]).toBeCloseTo(loss(), 3);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride, dilation }), wtT)),
      )([xt, ft]);
      expect(maxRelativeError(gx.dataSync(), gxNum)).toBeLessThan(1e-4);
      expect(maxRelativeError(gf.dataSync(), gfNum)).toBeLessThan(1e-4);
    });
  }

  it("computes the same forward pass as tf.conv2d with same padding", () => {
    const x = tf.randomNormal([1, 9, 10, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const f = tf.randomNormal([5, 5, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    for (const d of [1, 2, 5]) {
      const diff = tf.max(
        tf.abs(tf.sub(conv2d(x, f, { dilation: d }), tf.conv2d(x, f, 1, "same", "NHWC", d))),
      );
      expect(diff.dataSync()[0]).toBeLessThan(1e-4);
    }
  });

  it("refuses stride and dilation both above 1", () => {
    const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    const f = tf.zeros([5, 5, 1, 1]) as tf.Tensor4D;
    expect(() => conv2d(x, f, { stride: 2, dilation: 2 })).toThrow(/stride and dilation/);
  });
});
