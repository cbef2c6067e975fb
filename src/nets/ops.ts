import { tf } from "./tf.ts";

/** Hard sigmoid as in Keras/tfjs: clip(0.2 x + 0.5, 0, 1). */
export function hardSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1);
}

/**
 * Binarisation with a straight-through gradient: forward b = floor(c + 0.5) (hard rounding, values 0/1 for
 * c in [0, 1]), backward the identity's gradient (dL/dc = dL/db).
 */
export const straightThroughRound: (c: tf.Tensor) => tf.Tensor = tf.customGrad(((c: tf.Tensor) => ({
  value: tf.floor(tf.add(c, 0.5)),
  gradFunc: (dy: tf.Tensor) => dy,
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (c: tf.Tensor) => tf.Tensor;

/**
 * Hard sigmoid and hard rounding in one, with a straight-through gradient through both: forward
 * b = floor(clip(0.2 z + 0.5, 0, 1) + 0.5), backward db/dz = 0.2 everywhere. The plain composition
 * straightThroughRound(hardSigmoid(z)) has zero gradient wherever the hard sigmoid saturates, so pixels
 * whose logits leave [-2.5, 2.5] can never be switched by the density term again (measured: the mask
 * density stuck at 0.65 above the target within 30 steps).
 */
export const binariseLogits: (z: tf.Tensor) => tf.Tensor = tf.customGrad(((z: tf.Tensor) => ({
  value: tf.floor(tf.add(tf.clipByValue(tf.add(tf.mul(z, 0.2), 0.5), 0, 1), 0.5)),
  gradFunc: (dy: tf.Tensor) => tf.mul(dy, 0.2),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (z: tf.Tensor) => tf.Tensor;

/** Identity forward; multiplies the gradient by `factor` backward (routes β of Eq. 4 to the mask generator). */
export function scaleGradient(x: tf.Tensor, factor: number): tf.Tensor {
  if (factor === 1) return x;
  const op = tf.customGrad(((v: tf.Tensor) => ({
    value: tf.clone(v),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, factor),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor;
}

/**
 * 2x nearest-neighbour upsampling of NHWC by concat + reshape (pure core ops whose gradients every backend
 * has; tfjs has no gradient for rank-6 tile): duplicating along channels then reshaping repeats each pixel
 * along W; duplicating along W then reshaping repeats each row.
 */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const wide = tf.reshape(tf.concat([x, x], 3), [n, h, 2 * w, c]);
  return tf.reshape(tf.concat([wide, wide], 2), [n, 2 * h, 2 * w, c]) as tf.Tensor4D;
}

/** Density as a network input: ln(D / 0.05) / ln 5 maps [0.01, 0.25] to [-1, 1]. */
export function densityFeature(density: number): number {
  return Math.log(density / 0.05) / Math.log(5);
}

export { Rng } from "../mask/rng.ts";

/** The four phases x[:, a::2, b::2, :] (a, b in {0, 1}, row-major) of an even-sized NHWC tensor. */
function phases(x: tf.Tensor4D): tf.Tensor4D[] {
  const [n, h, w, c] = x.shape;
  const rows = tf.reshape(x, [n * (h / 2), 2, w / 2, 2 * c]);
  const out: tf.Tensor4D[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) {
      out.push(
        tf.reshape(tf.slice(rows, [0, a, 0, b * c], [-1, 1, -1, c]), [n, h / 2, w / 2, c]) as tf.Tensor4D,
      );
    }
  }
  return out;
}

/** The inverse of phases: four [n, h/2, w/2, c] tensors interleaved into [n, h, w, c]. */
function interleave(p: tf.Tensor4D[]): tf.Tensor4D {
  const [n, h2, w2, c] = p[0].shape;
  const row = (u: tf.Tensor4D, v: tf.Tensor4D) => tf.reshape(tf.concat([u, v], 3), [n * h2, 1, w2, 2 * c]);
  return tf.reshape(tf.concat([row(p[0], p[1]), row(p[2], p[3])], 1), [n, 2 * h2, 2 * w2, c]) as tf.Tensor4D;
}

/**
 * 2x2 max-pooling, stride 2 (even H and W), with a correct gradient on every backend: dy goes to the first
 * element (row-major) of each window that equals its maximum, as in TensorFlow.
 *
 * Why: tfjs-backend-wasm's MaxPoolGrad (4.22) starts each window's running maximum at the smallest positive
 * float instead of -infinity, so a window whose four values are all <= 0 loses its gradient (it goes to the
 * tensor's first entry). After ELU most windows can be negative (34-60 % in maskgan-v4-d05's hourglass), so
 * the down blocks, whose outputs are pooled, got wrong gradients: for gen/down0/d1 the tfjs gradient
 * correlated 0.91 with finite differences. The forward pass of tf.maxPool is right and is kept.
 */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad(((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.maxPool(xIn as tf.Tensor4D, 2, 2, "valid");
    save([xIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor4D, tf.Tensor4D];
        const zero = tf.zerosLike(dy);
        let taken: tf.Tensor | undefined;
        const parts = phases(xs).map((p) => {
          const equal = tf.equal(p, ys);
          const first = taken ? tf.logicalAnd(equal, tf.logicalNot(taken)) : equal;
          taken = taken ? tf.logicalOr(taken, equal) : equal;
          return tf.where(first, dy, zero) as tf.Tensor4D;
        });
        return interleave(parts);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
