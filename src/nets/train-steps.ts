import { targetCount } from "../image/types.ts";
import { analyticScoresBatch } from "../mask/analytic.ts";
import { densityMap, ditherScores } from "../mask/dither.ts";
import { topCountMask } from "../mask/topk.ts";
import type { Adam } from "./adam.ts";
import { critic, inpaintingGenerator, maskGenerator, type Weights } from "./models.ts";
import { scaleGradient } from "./ops.ts";
import { ssimPerImage } from "./ssim.ts";
import { tf } from "./tf.ts";
import type { TrainOptions } from "./train.ts";

/**
 * One training step of each phase of the joint training, as plain functions of the weights, their Adam
 * optimisers and the options (the Trainer in train.ts samples the batch, picks the phase and keeps the
 * state): the L1 warm-up of the inpainting generator on random masks, the optional mask-prior phase, and the
 * WGAN step of the paper's Eqs. (2)-(4). Each returns the logged quantities, in TRAIN_LOG_HEADER's order.
 */

export interface StepContext {
  weights: Weights;
  adams: Record<"gen" | "mask" | "critic", Adam>;
  options: TrainOptions;
}

/**
 * The weight of the adversarial term against the trainer's mean L1: the paper's Eq. (3) divided by the number
 * of values of a crop. Why: the paper weighs α d(u, b) against the L1 norm *summed* over the image, so
 * α = 0.005 makes the critic a gentle pull; against a mean, the same α is size² · 3 times (12,288 times at 64×64)
 * stronger — with it, maskgan-v1's run diverged (docs/notes/nets.md, "α").
 */
export function adversarialWeight(options: Pick<TrainOptions, "alpha" | "size">): number {
  return options.alpha / (options.size * options.size * 3);
}

/** Per sample, the targetCount(H*W, D) highest logits become 1; backward: dy * 0.2 to the logits. */
export function exactMaskStraightThrough(z: tf.Tensor4D, densities: number[]): tf.Tensor4D {
  const [n, h, w] = z.shape;
  const pixels = h * w;
  const scores = z.dataSync() as Float32Array;
  const mask = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) {
    const count = targetCount(pixels, densities[i]);
    const block = topCountMask(scores.subarray(i * pixels, (i + 1) * pixels), pixels, count);
    for (let p = 0; p < pixels; p++) mask[i * pixels + p] = block[p];
  }
  const op = tf.customGrad(((zIn: tf.Tensor) => ({
    value: tf.add(tf.mul(zIn, 0), tf.tensor4d(mask, [n, h, w, 1])),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, 0.2),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z) as tf.Tensor4D;
}

/**
 * Per sample, the dithered mask of exactly targetCount pixels from the density map p = sigmoid(z - t),
 * sum(p) = count. Backward: dL/dp = dL/db (straight through), then the exact derivative of the normalised
 * map: dL/dz = w (dL/dp - sum(w dL/dp) / sum(w)) with w = p (1 - p).
 */
export function ditherMaskStraightThrough(z: tf.Tensor4D, densities: number[]): tf.Tensor4D {
  const [n, h, w] = z.shape;
  const pixels = h * w;
  const scores = z.dataSync() as Float32Array;
  const mask = new Float32Array(n * pixels);
  const weight = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) {
    const count = targetCount(pixels, densities[i]);
    const raw = scores.subarray(i * pixels, (i + 1) * pixels);
    const dithered = ditherScores(raw, w, h, count);
    const p = densityMap(raw, count);
    for (let q = 0; q < pixels; q++) {
      mask[i * pixels + q] = dithered[q];
      weight[i * pixels + q] = p[q] * (1 - p[q]);
    }
  }
  const op = tf.customGrad(((zIn: tf.Tensor) => ({
    value: tf.add(tf.mul(zIn, 0), tf.tensor4d(mask, [n, h, w, 1])),
    gradFunc: (dy: tf.Tensor) => {
      const wt = tf.tensor4d(weight, [n, h, w, 1]);
      const mean = tf.div(
        tf.sum(tf.mul(wt, dy), [1, 2, 3], true),
        tf.add(tf.sum(wt, [1, 2, 3], true), 1e-12),
      );
      return tf.mul(wt, tf.sub(dy, mean));
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z) as tf.Tensor4D;
}

export function names(weights: Weights, prefix: string): string[] {
  return [...weights.keys()].filter((k) => k.startsWith(`${prefix}/`));
}

export function gradMap(grads: tf.NamedTensorMap, weights: Weights, keys: string[]): Map<string, tf.Tensor> {
  const byVar = new Map<string, string>();
  for (const k of keys) byVar.set((weights.get(k) as tf.Variable).name, k);
  const out = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) {
    const k = byVar.get(varName);
    if (k) out.set(k, g);
  }
  return out;
}

export function warmupStep(
  t: StepContext,
  fData: Float32Array,
  densities: number[],
  noiseG: Float32Array,
  mask: Float32Array,
): number[] {
  const o = t.options;
  const shape: [number, number, number, number] = [o.batch, o.size, o.size, 3];
  const shape1: [number, number, number, number] = [o.batch, o.size, o.size, 1];
  const genKeys = names(t.weights, "gen");
  return tf.tidy(() => {
    const f = tf.tensor4d(fData, shape);
    const b = tf.tensor4d(mask, shape1);
    const r = tf.tensor4d(noiseG, shape1);
    const { value, grads } = tf.variableGrads(
      () => {
        const { u } = inpaintingGenerator(t.weights, o.arch, f, b, r, densities);
        return tf.mean(tf.abs(tf.sub(f, u))) as tf.Scalar;
      },
      genKeys.map((k) => t.weights.get(k) as tf.Variable),
    );
    t.adams.gen.apply(t.weights, gradMap(grads, t.weights, genKeys));
    const l1 = value.dataSync()[0];
    return [l1, Number.NaN, Number.NaN, l1 * 255, Number.NaN, Number.NaN, Number.NaN];
  });
}

/**
 * Mask prior phase (maskPriorUntil): m regresses its logits onto the analytic scores; g trains on Eq. (3)
 * with m's current dithered masks (held constant: no gradient from g's loss reaches m here).
 */
export function priorStep(
  t: StepContext,
  fData: Float32Array,
  densities: number[],
  noiseG: Float32Array,
  noiseM: Float32Array,
): number[] {
  const o = t.options;
  const B = o.batch;
  const S = o.size;
  const shape: [number, number, number, number] = [B, S, S, 3];
  const shape1: [number, number, number, number] = [B, S, S, 1];
  const target = analyticScoresBatch(fData, B, S, S, 3, densities);
  const genKeys = names(t.weights, "gen");
  const maskKeys = names(t.weights, "mask");
  return tf.tidy(() => {
    const f = tf.tensor4d(fData, shape);
    const rG = tf.tensor4d(noiseG, shape1);
    const rM = tf.tensor4d(noiseM, shape1);
    const kept: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(
      () => {
        const { z } = maskGenerator(t.weights, o.arch, f, rM, densities);
        const zData = z.dataSync() as Float32Array;
        const mask = new Float32Array(B * S * S);
        for (let i = 0; i < B; i++) {
          const block = zData.subarray(i * S * S, (i + 1) * S * S);
          mask.set(ditherScores(block, S, S, targetCount(S * S, densities[i])), i * S * S);
        }
        const b = tf.tensor4d(mask, shape1);
        const { u } = inpaintingGenerator(t.weights, o.arch, f, b, rG, densities);
        const l1 = tf.mean(tf.abs(tf.sub(f, u)));
        const prior = tf.mean(tf.square(tf.sub(z, tf.tensor4d(target, shape1))));
        kept.push(tf.keep(l1), tf.keep(prior));
        return tf.add(l1, prior) as tf.Scalar;
      },
      [...genKeys, ...maskKeys].map((k) => t.weights.get(k) as tf.Variable),
    );
    t.adams.gen.apply(t.weights, gradMap(grads, t.weights, genKeys));
    t.adams.mask.apply(t.weights, gradMap(grads, t.weights, maskKeys));
    const [l1, prior] = kept.map((t) => t.dataSync()[0]);
    for (const t of kept) t.dispose();
    return [l1, prior, Number.NaN, l1 * 255, 0, Number.NaN, Number.NaN];
  });
}

export function ganStep(
  t: StepContext,
  fData: Float32Array,
  densities: number[],
  noiseG: Float32Array,
  noiseM: Float32Array,
): number[] {
  const o = t.options;
  const alpha = adversarialWeight(o);
  const shape: [number, number, number, number] = [o.batch, o.size, o.size, 3];
  const shape1: [number, number, number, number] = [o.batch, o.size, o.size, 1];
  const genKeys = names(t.weights, "gen");
  const maskKeys = names(t.weights, "mask");
  const criticKeys = names(t.weights, "critic");
  return tf.tidy(() => {
    const f = tf.tensor4d(fData, shape);
    const rG = tf.tensor4d(noiseG, shape1);
    const rM = tf.tensor4d(noiseM, shape1);
    const target = tf.tensor1d(densities);
    let kept: tf.Tensor[] = [];
    // One backward pass for both generators: L = -alpha d(u, b) + ||f - u||_1 + |mean(b) - D|, where the
    // mask's gradient from the first two terms is scaled by beta. g receives exactly Eq. (3); m receives
    // Eq. (4) plus alpha*beta times the adversarial term (small; documented in docs/notes/nets.md).
    const { grads } = tf.variableGrads(
      () => {
        const m = maskGenerator(t.weights, o.arch, f, rM, densities);
        const b = o.ditherMasks
          ? ditherMaskStraightThrough(m.z, densities)
          : o.exactMasks
            ? exactMaskStraightThrough(m.z, densities)
            : m.b;
        const bs = scaleGradient(b, o.beta) as tf.Tensor4D;
        const { u } = inpaintingGenerator(t.weights, o.arch, f, bs, rG, densities);
        const l1 = tf.mean(tf.abs(tf.sub(f, u)));
        // with alpha = 0 the critic does not enter the generators' losses: skip it (and its update below)
        const dFake = alpha > 0 ? tf.mean(critic(t.weights, o.arch, u, bs)) : tf.scalar(Number.NaN);
        const densityErr = tf.mean(tf.abs(tf.sub(tf.mean(b, [1, 2, 3]), target)));
        const eq3 = alpha > 0 ? tf.add(tf.mul(-alpha, dFake), l1) : l1;
        const lossG = o.ssimWeight
          ? tf.add(eq3, tf.mul(o.ssimWeight, tf.sub(1, tf.mean(ssimPerImage(f, u)))))
          : eq3;
        kept = [tf.keep(tf.clone(u)), tf.keep(tf.clone(b)), tf.keep(l1), tf.keep(dFake), tf.keep(densityErr)];
        return tf.add(lossG, densityErr) as tf.Scalar;
      },
      [...genKeys, ...maskKeys].map((k) => t.weights.get(k) as tf.Variable),
    );
    t.adams.gen.apply(t.weights, gradMap(grads, t.weights, genKeys));
    t.adams.mask.apply(t.weights, gradMap(grads, t.weights, maskKeys));
    const [u, b, l1T, dFakeT, densT] = kept as [tf.Tensor4D, tf.Tensor4D, tf.Tensor, tf.Tensor, tf.Tensor];
    let lossC = Number.NaN;
    let real = Number.NaN;
    if (alpha > 0) {
      // Critic, Eq. (2): minimise E[d(u, b) - d(f, b)] on this step's (detached) u and b.
      const critRes = tf.variableGrads(
        () => {
          const dReal = tf.mean(critic(t.weights, o.arch, f, b));
          const dFakeC = tf.mean(critic(t.weights, o.arch, u, b));
          kept.push(tf.keep(dReal));
          return tf.sub(dFakeC, dReal) as tf.Scalar;
        },
        criticKeys.map((k) => t.weights.get(k) as tf.Variable),
      );
      t.adams.critic.apply(t.weights, gradMap(critRes.grads, t.weights, criticKeys));
      lossC = critRes.value.dataSync()[0];
      real = kept[5].dataSync()[0];
    }
    const l1 = l1T.dataSync()[0];
    const dFake = dFakeT.dataSync()[0];
    const dens = densT.dataSync()[0];
    for (const t of kept) t.dispose();
    return [alpha > 0 ? -alpha * dFake + l1 : l1, dens + o.beta * l1, lossC, l1 * 255, dens, real, dFake];
  });
}
