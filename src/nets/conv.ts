import { tf } from "./tf.ts";

/**
 * 2-D convolution (NHWC, kernel [k, k, Cin, Cout]) with its own gradient, so that training works on every
 * backend: the wasm backend has no Conv2DBackpropFilter kernel, and tfjs refuses gradients of dilated
 * convolutions anywhere. Stride and dilation may not both exceed 1 (tfjs' own rule; we never need both).
 *
 * Padding is "same" in the sense of TF: ceil(H / stride) outputs, the total padding split with the smaller
 * half before. The padding is an explicit tf.pad (whose gradient tfjs has), so the custom op below is a
 * "valid" convolution only:
 *
 *   y[n, i, j, o] = sum_{a, b, c} xp[n, i*s + a*d, j*s + b*d, c] * f[a, b, c, o]
 *
 * Its gradients:
 * - input: stride 1: a "full" convolution of dy with the spatially flipped, in/out-transposed kernel at the
 *   same dilation; stride > 1 (dilation 1): tf.conv2dTranspose, which every backend has.
 * - filter: df[a, b, c, o] = sum_{n, i, j} xp[n, i*s + a*d, j*s + b*d, c] * dy[n, i, j, o], i.e. a
 *   "valid" convolution of xp transposed to [Cin, H, W, N] (batch <-> channels) with dy transposed to
 *   [Ho, Wo, N, Cout] as the kernel, at stride d and dilation s; the result [Cin, k, k, Cout] (cropped to
 *   k x k when stride s leaves a remainder) is transposed back to [k, k, Cin, Cout].
 */
export function conv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  options: { stride?: number; dilation?: number } = {},
): tf.Tensor4D {
  const s = options.stride ?? 1;
  const d = options.dilation ?? 1;
  if (s > 1 && d > 1) throw new Error("conv2d: stride and dilation cannot both exceed 1");
  const k = filter.shape[0];
  const [, h, w] = x.shape;
  const effective = d * (k - 1) + 1;
  const padH = Math.max(0, (Math.ceil(h / s) - 1) * s + effective - h);
  const padW = Math.max(0, (Math.ceil(w / s) - 1) * s + effective - w);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  const xp =
    padH === 0 && padW === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [top, padH - top],
          [left, padW - left],
          [0, 0],
        ]);
  return validConv(xp, filter, s, d);
}

function validConv(xp: tf.Tensor4D, filter: tf.Tensor4D, s: number, d: number): tf.Tensor4D {
  const op = tf.customGrad(((xIn: tf.Tensor, fIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const xv = xIn as tf.Tensor4D;
    const fv = fIn as tf.Tensor4D;
    save([xv, fv]);
    const value = tf.conv2d(xv, fv, s, "valid", "NHWC", d);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        return [inputGradient(dy4, fs, xs.shape, s, d), filterGradient(dy4, xs, fs.shape, s, d)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(xp, filter) as tf.Tensor4D;
}

function inputGradient(
  dy: tf.Tensor4D,
  f: tf.Tensor4D,
  xShape: [number, number, number, number],
  s: number,
  d: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    if (s > 1) {
      // dilation is 1 here; conv2dTranspose sizes the output to xShape (rows the stride skipped get 0)
      return tf.conv2dTranspose(dy, f, xShape, s, "valid");
    }
    const k = f.shape[0];
    const p = d * (k - 1);
    const flipped = tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const dyp = tf.pad(dy, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    return tf.conv2d(dyp, flipped, 1, "valid", "NHWC", d);
  });
}

function filterGradient(
  dy: tf.Tensor4D,
  xp: tf.Tensor4D,
  fShape: [number, number, number, number],
  s: number,
  d: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const k = fShape[0];
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H, W, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
    let g = tf.conv2d(xt, dyt, d, "valid", "NHWC", s); // [Cin, >=k, >=k, Cout]
    if (g.shape[1] !== k || g.shape[2] !== k) {
      g = tf.slice(g, [0, 0, 0, 0], [-1, k, k, -1]);
    }
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}
