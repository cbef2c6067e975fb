import { gaussianKernel } from "../image/metrics.ts";
import { conv2d } from "./conv.ts";
import { tf } from "./tf.ts";

/**
 * SSIM per image as a differentiable tfjs expression: the measure of `ssim` in src/image/metrics.ts (Wang et
 * al. 2004: 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, valid window positions, mean over
 * channels) for NHWC tensors on [0, 1], so that a training loss can use the figure the benchmarks report.
 * The window is one 11×11 convolution (conv.ts, whose gradient works on every backend) over the five maps
 * x, y, x², y², xy of every channel stacked along the batch; "same" padding then cropped to the valid part.
 */
export function ssimPerImage(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const size = Math.min(11, (Math.min(w, h) - 1) | 1);
    const k1 = gaussianKernel(size, (1.5 * size) / 11);
    const k2 = new Float32Array(size * size);
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) k2[i * size + j] = k1[i] * k1[j];
    const kernel = tf.tensor4d(k2, [size, size, 1, 1]);
    // [n, h, w, c] -> [n * c, h, w, 1]: every channel is its own plane
    const planes = (a: tf.Tensor4D) =>
      tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [n * c, h, w, 1]) as tf.Tensor4D;
    const px = planes(x);
    const py = planes(y);
    const stacked = tf.concat([px, py, tf.mul(px, px), tf.mul(py, py), tf.mul(px, py)], 0) as tf.Tensor4D;
    const blurred = conv2d(stacked, kernel);
    const r = (size - 1) >> 1;
    const valid = tf.slice(blurred, [0, r, r, 0], [-1, h - size + 1, w - size + 1, 1]);
    const [mx, my, sxx, syy, sxy] = tf.split(valid, 5, 0);
    const c1 = 0.01 ** 2;
    const c2 = 0.03 ** 2;
    const mxy = tf.mul(mx, my);
    const mxx = tf.mul(mx, mx);
    const myy = tf.mul(my, my);
    const num = tf.mul(tf.add(tf.mul(2, mxy), c1), tf.add(tf.mul(2, tf.sub(sxy, mxy)), c2));
    const den = tf.mul(tf.add(tf.add(mxx, myy), c1), tf.add(tf.add(tf.sub(sxx, mxx), tf.sub(syy, myy)), c2));
    const map = tf.div(num, den);
    // mean over positions per plane, then over the channels of each image
    return tf.mean(tf.reshape(tf.mean(map, [1, 2, 3]), [n, c]), 1) as tf.Tensor1D;
  });
}
