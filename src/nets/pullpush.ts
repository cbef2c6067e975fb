import { tf } from "./tf.ts";

/**
 * Pull-push interpolation of scattered known values (Gortler et al. 1996; a fast relative of normalised
 * convolution), as tfjs ops so that gradients flow to the mask too.
 *
 * Pull: sums of mask weights W and of known values C over 2x2 blocks, level by level, while both sides are
 * even. Push: from the coarsest level (backed by the per-image mean of the known values) to the finest,
 * value = w * C / W + (1 - w) * upsampled coarser value, with w = min(W, 1) (1 where a block holds a known
 * pixel). At level 0 this is b * f + (1 - b) * estimate, i.e. it already satisfies Eq. (1).
 *
 * Why it is here: it gives the inpainting generator a reasonable reconstruction from its very first step
 * (the generator learns a correction on top), which matters on a CPU budget of a few thousand steps.
 */
export function pullPush(known: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const eps = 1e-6;
    const ws: tf.Tensor4D[] = [mask];
    const cs: tf.Tensor4D[] = [known];
    let [, h, w] = mask.shape;
    while (h % 2 === 0 && w % 2 === 0 && h > 1 && w > 1) {
      const W = ws[ws.length - 1];
      const C = cs[cs.length - 1];
      ws.push(tf.mul(tf.avgPool(W, 2, 2, "valid"), 4) as tf.Tensor4D);
      cs.push(tf.mul(tf.avgPool(C, 2, 2, "valid"), 4) as tf.Tensor4D);
      h /= 2;
      w /= 2;
    }
    // fallback at the coarsest level: mean of the known values (0.5 for an empty mask)
    const total = tf.sum(mask, [1, 2], true);
    const mean = tf.div(tf.add(tf.sum(known, [1, 2], true), 5e-4), tf.add(total, 1e-3));
    let value: tf.Tensor4D | undefined;
    for (let l = ws.length - 1; l >= 0; l--) {
      const W = ws[l];
      const C = cs[l];
      const [, lh, lw] = W.shape;
      const coarser =
        value === undefined
          ? tf.mul(mean, tf.ones([1, lh, lw, 1]))
          : tf.image.resizeBilinear(value, [lh, lw], false, true);
      const weight = tf.minimum(W, 1);
      value = tf.add(
        tf.mul(weight, tf.div(C, tf.add(W, eps))),
        tf.mul(tf.sub(1, weight), coarser),
      ) as tf.Tensor4D;
    }
    return value as tf.Tensor4D;
  });
}
