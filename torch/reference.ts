/**
 * Reference outputs of the TypeScript networks for torch/check_port.py: one batch through the mask generator,
 * the dithered masks, the diffusion interpolation, the inpainting generator and the critic, and the gradients
 * of the training loss of src/nets/train.ts (ganStep, dithered masks) with respect to the mask logits and to
 * one kernel of each network. Written as .npy files into the folder given (default torch/.ref, ignored).
 *
 *   npx tsx torch/reference.ts [--model models/maskgan-v8-d05] [--images DIR] [--out torch/.ref]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { targetCount } from "../src/image/types.ts";
import { analyticScoresBatch } from "../src/mask/analytic.ts";
import { ditherScores } from "../src/mask/dither.ts";
import { initBackend } from "../src/nets/backend.ts";
import { centreCrops, loadImageFolder } from "../src/nets/data.ts";
import { diffusionInterpolation } from "../src/nets/diffusion-op.ts";
import {
  type ArchOptions,
  critic,
  inpaintingGenerator,
  maskGenerator,
  type Weights,
} from "../src/nets/models.ts";
import { Rng } from "../src/nets/ops.ts";
import { adversarialWeight, ditherMaskStraightThrough } from "../src/nets/train.ts";
import { loadWeights } from "../src/nets/weights.ts";
import { npyBytes } from "./npy.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const modelDir = arg("--model", "models/maskgan-v8-d05");
  const imageDir = arg("--images", "../shared/datasets/bsds500/val");
  const outDir = arg("--out", "torch/.ref");
  const S = Number(arg("--size", "64"));
  await initBackend("wasm", { training: true });
  await mkdir(outDir, { recursive: true });
  const save = async (name: string, t: tf.Tensor | Float32Array, shape?: number[]) => {
    const data = t instanceof Float32Array ? t : ((await t.data()) as Float32Array);
    await writeFile(join(outDir, `${name}.npy`), npyBytes(data, "<f4", shape ?? (t as tf.Tensor).shape));
  };

  const { json, tensors } = await loadWeights(modelDir);
  const arch = (json.maskcodec as { arch: ArchOptions }).arch;
  const weights: Weights = new Map();
  for (const [k, v] of tensors) weights.set(k, tf.variable(v, true, `ref/${k}`));

  const densities = [0.05, 0.04, 0.065, 0.1];
  const B = densities.length;
  const crops = centreCrops(await loadImageFolder(imageDir, { minSize: S, limit: B }), S, B);
  const rng = new Rng(7);
  const noiseM = rng.fill(new Float32Array(B * S * S));
  const noiseG = rng.fill(new Float32Array(B * S * S));
  const shape: [number, number, number, number] = [B, S, S, 3];
  const shape1: [number, number, number, number] = [B, S, S, 1];
  const f = tf.tensor4d(crops.data, shape);
  const rM = tf.tensor4d(noiseM, shape1);
  const rG = tf.tensor4d(noiseG, shape1);
  await save("f", f);
  await save("noise_m", rM);
  await save("noise_g", rG);
  await save("densities", Float32Array.from(densities), [B]);
  await save("analytic", analyticScoresBatch(crops.data, B, S, S, 3, densities), [B, S, S]);

  const { z } = maskGenerator(weights, arch, f, rM, densities);
  await save("z", z);
  const zData = (await z.data()) as Float32Array;
  const masks = new Float32Array(B * S * S);
  for (let i = 0; i < B; i++) {
    const m = ditherScores(
      zData.subarray(i * S * S, (i + 1) * S * S),
      S,
      S,
      targetCount(S * S, densities[i]),
    );
    masks.set(m, i * S * S);
  }
  await save("mask", masks, [B, S, S, 1]);
  const b = tf.tensor4d(masks, shape1);
  await save("pp", diffusionInterpolation(f, b));
  // the diffusion operator's mask gradient alone, for a fixed weighting of its output
  const weighting = tf.tensor4d(new Rng(11).fill(new Float32Array(B * S * S * 3)), shape);
  await save("weighting", weighting);
  await save(
    "grad_diffusion",
    tf.grad((bIn: tf.Tensor) => tf.sum(tf.mul(diffusionInterpolation(f, bIn as tf.Tensor4D), weighting)))(b),
  );
  const { u } = inpaintingGenerator(weights, arch, f, b, rG, densities);
  await save("u", u);
  if (arch.refiner?.quantised) {
    // a quantised refiner told the values were stored on 16 / 32 levels (the planes only; f as it is)
    const stored = { luma: 16, chroma: 32 };
    await save("u_stored", inpaintingGenerator(weights, arch, f, b, rG, densities, undefined, stored).u);
  }
  await save("critic", critic(weights, arch, u, b));

  // gradients of ganStep's generator loss: -alpha d(u, b) + mean |f - u| + mean |mean(b) - D|
  const alpha = adversarialWeight({ alpha: 0.005, size: S });
  const target = tf.tensor1d(densities);
  const lossOf = (zIn: tf.Tensor4D): tf.Scalar => {
    const bs = ditherMaskStraightThrough(zIn, densities);
    const out = inpaintingGenerator(weights, arch, f, bs, rG, densities).u;
    const l1 = tf.mean(tf.abs(tf.sub(f, out)));
    const dFake = tf.mean(critic(weights, arch, out, bs));
    const densityErr = tf.mean(tf.abs(tf.sub(tf.mean(bs, [1, 2, 3]), target)));
    return tf.add(tf.add(tf.mul(-alpha, dFake), l1), densityErr) as tf.Scalar;
  };
  // the parts: the L1 term alone, and the critic's gradient with respect to its mask input
  const l1Only = (zIn: tf.Tensor) => {
    const bs = ditherMaskStraightThrough(zIn as tf.Tensor4D, densities);
    return tf.mean(
      tf.abs(tf.sub(f, inpaintingGenerator(weights, arch, f, bs, rG, densities).u)),
    ) as tf.Scalar;
  };
  await save("grad_z_l1", tf.grad(l1Only)(z));
  await save(
    "grad_rg",
    tf.grad((rIn: tf.Tensor) =>
      tf.mean(tf.abs(tf.sub(f, inpaintingGenerator(weights, arch, f, b, rIn as tf.Tensor4D, densities).u))),
    )(rG),
  );
  await save(
    "grad_b_critic",
    tf.grad((bIn: tf.Tensor) => tf.mean(critic(weights, arch, u, bIn as tf.Tensor4D)))(b),
  );
  const dz = tf.grad((zIn: tf.Tensor) => lossOf(zIn as tf.Tensor4D))(z);
  await save("grad_z", dz);
  const picked = ["gen/down0/d1/kernel", "gen/out/d5/kernel", "mask/down0/d2/kernel", "critic/f0/kernel"];
  const { value, grads } = tf.variableGrads(
    () => lossOf(maskGenerator(weights, arch, f, rM, densities).z),
    picked.map((k) => weights.get(k) as tf.Variable),
  );
  await save("loss", Float32Array.of((await value.data())[0]), [1]);
  for (const k of picked) await save(`grad_${k.replaceAll("/", "_")}`, grads[`ref/${k}`]);
  console.log(`reference of ${modelDir} on ${B} crops of ${S}x${S} written to ${outDir}`);
}

await main();
