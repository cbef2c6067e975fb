import * as tf from "@tensorflow/tfjs-core";

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

/** Small, fast, seedable PRNG (mulberry32); its whole state is one uint32, so checkpoints can store it. */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  fill(array: Float32Array): Float32Array {
    for (let i = 0; i < array.length; i++) array[i] = this.next();
    return array;
  }
}
