/**
 * How much of PS+NLPE's advantage over the analytic mask is *where the density goes* and how much is *where
 * exactly each pixel sits*? A question for the mask generator's design (issue 5): a network whose scores are
 * dithered into a mask controls the local density easily, exact positions only with sharp score maps.
 *
 * For each BSDS500 validation crop (128×128 centre crops, never test-dev) and density: the analytic mask, the
 * PS+NLPE mask, and the PS+NLPE mask's own local density — the mask blurred with a Gaussian of σ = k × the mean
 * spacing 1/√D — dithered back to the same count (ditherScores of log(blur)). All three with diffusion
 * inpainting (tolerance 1e-6), values exact; mean MAE over the crops. With --model, also the model's own
 * masks, and its inpainting generator on the analytic, PS+NLPE and its own masks: how much better the network's
 * reconstruction would be with PS+NLPE's placement.
 *
 *   npm run bench -- mask-placement [--limit 12] [--densities 0.05,0.1] [--sigmas 0.1,0.25,0.5,1] [--model DIR]
 */
import { parseArgs } from "node:util";
import { analyticScores, gaussianBlur, greyOf } from "../src/baselines/analytic.ts";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { ditherScores } from "../src/baselines/dither.ts";
import { psNlpe } from "../src/baselines/nlpe.ts";
import { mae } from "../src/image/metrics.ts";
import { createMask, type Image, targetCount } from "../src/image/types.ts";
import { loadGanModel } from "../src/nets/gan-backend.ts";
import { DensityMeans } from "./_density-table.ts";
import { valCrop, valFiles } from "./_val-crops.ts";

function maeOf(image: Image, mask: Uint8Array): number {
  return mae(image, inpaintDiffusion(image, createMask(image.width, image.height, mask)).image);
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "12" },
      densities: { type: "string", default: "0.05,0.1" },
      sigmas: { type: "string", default: "0.1,0.25,0.5,1" },
      model: { type: "string" },
    },
  });
  const densities = values.densities.split(",").map(Number);
  const sigmas = values.sigmas.split(",").map(Number);
  const files = valFiles(Number(values.limit));
  const means = new DensityMeans(densities, files.length);
  const model = values.model ? await loadGanModel(values.model) : undefined;
  const started = performance.now();
  for (const file of files) {
    const image = await valCrop(file);
    const { width: w, height: h, channels } = image;
    const n = w * h;
    for (const d of densities) {
      const count = targetCount(n, d);
      const analytic = ditherScores(analyticScores(greyOf(image.data, n, channels), w, h, d), w, h, count);
      means.add(d, `analytic`, maeOf(image, analytic));
      const teacher = psNlpe(image, d, { seed: 0 }).mask.data;
      means.add(d, `ps+nlpe`, maeOf(image, teacher));
      if (model) {
        const own = (await model.selector("dither").select(image, d)).data;
        means.add(d, `model`, maeOf(image, own));
        const inpainter = model.inpainter();
        for (const [key, mask] of [
          ["analytic", analytic],
          ["ps+nlpe", teacher],
          ["model", own],
        ] as const) {
          means.add(d, `gan ${key}`, mae(image, await inpainter.inpaint(image, createMask(w, h, mask))));
        }
      }
      for (const k of sigmas) {
        const blurred = gaussianBlur(Float64Array.from(teacher), w, h, k / Math.sqrt(d));
        const scores = Float32Array.from(blurred, (v) => Math.log(v + 1e-4));
        means.add(d, `density ${k}`, maeOf(image, ditherScores(scores, w, h, count)));
      }
    }
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  console.log(
    `\nMask placement against local density: ${files.length} BSDS500 val crops (128×128), diffusion inpainting, mean MAE\n`,
  );
  means.printHeader();
  const row = (label: string, key: string) => means.printRow(label, key);
  row("analytic (dithered)", "analytic");
  row("PS+NLPE", "ps+nlpe");
  for (const k of sigmas) row(`PS+NLPE's density, σ = ${k}/√D, dithered`, `density ${k}`);
  if (model) {
    row(`${model.id}'s own mask`, "model");
    row(`${model.id} inpainting, analytic mask`, "gan analytic");
    row(`${model.id} inpainting, PS+NLPE mask`, "gan ps+nlpe");
    row(`${model.id} inpainting, its own mask`, "gan model");
  }
  console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s`);
}
