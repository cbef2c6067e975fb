/**
 * Cheap ways to improve a mask generator's mask in place, on BSDS500 validation crops (128×128 centre crops,
 * never test-dev): NLPE for a few cycles (what `--mask gan+nlpe` / `--refine C` do) against "snapping" every
 * kept pixel to the best free pixel within radius r by a score map (the model's logits, |Δf|, |Δ(G_0.7 ∗ f)|),
 * weakest pixels first. MAE of diffusion and of the model's inpainting generator on each mask, and the NLPE
 * time per crop. (Session 4: snapping made every mask worse; NLPE improved all.)
 *
 *   npm run bench -- mask-refine [--limit 12] [--densities 0.05,0.1] [--cycles 0.5,1,2] [--model DIR]
 */
import { parseArgs } from "node:util";
import { greyOf, laplacianMagnitude } from "../src/baselines/analytic.ts";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { ditherScores } from "../src/baselines/dither.ts";
import { nlpe } from "../src/baselines/nlpe.ts";
import { mae } from "../src/image/metrics.ts";
import { createMask, targetCount } from "../src/image/types.ts";
import { DensityMeans } from "./_density-table.ts";
import { modelsByDensity, valCrop, valFiles } from "./_val-crops.ts";

/** Each kept pixel, weakest score first, moves to the highest-scoring free pixel within radius r if better. */
function snap(mask: Uint8Array, score: ArrayLike<number>, w: number, h: number, r: number): Uint8Array {
  const out = Uint8Array.from(mask);
  const kept: number[] = [];
  for (let i = 0; i < out.length; i++) if (out[i]) kept.push(i);
  kept.sort((a, b) => score[a] - score[b]);
  for (const i of kept) {
    const x0 = i % w;
    const y0 = (i - x0) / w;
    let best = i;
    for (let y = Math.max(0, y0 - r); y <= Math.min(h - 1, y0 + r); y++) {
      for (let x = Math.max(0, x0 - r); x <= Math.min(w - 1, x0 + r); x++) {
        const j = y * w + x;
        if (!out[j] && score[j] > score[best]) best = j;
      }
    }
    if (best !== i) {
      out[i] = 0;
      out[best] = 1;
    }
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "12" },
      densities: { type: "string", default: "0.05,0.1" },
      cycles: { type: "string", default: "0.5,1,2" },
      model: { type: "string" },
    },
  });
  const densities = values.densities.split(",").map(Number);
  const cycleList = values.cycles.split(",").map(Number);
  const files = valFiles(Number(values.limit));
  const models = await modelsByDensity(densities, values.model);
  const means = new DensityMeans(densities, files.length);
  const labels: string[] = [];
  const started = performance.now();
  for (const file of files) {
    const image = await valCrop(file);
    const { width: w, height: h, channels } = image;
    const grey = greyOf(image.data, w * h, channels);
    for (const [i, d] of densities.entries()) {
      const model = models[i];
      const inpainter = model.inpainter();
      const z = await model.scores(image, d);
      const own = ditherScores(z, w, h, targetCount(w * h, d));
      const masks: Array<[string, Uint8Array]> = [["the model's mask (dithered)", own]];
      for (const r of [1, 2]) {
        masks.push([`snap to logits, r = ${r}`, snap(own, z, w, h, r)]);
        masks.push([`snap to |Δf|, r = ${r}`, snap(own, laplacianMagnitude(grey, w, h, 0), w, h, r)]);
        masks.push([
          `snap to |Δ(G_0.7 ∗ f)|, r = ${r}`,
          snap(own, laplacianMagnitude(grey, w, h, 0.7), w, h, r),
        ]);
      }
      for (const c of cycleList) {
        const t = performance.now();
        const refined = nlpe(image, createMask(w, h, own), { cycles: c, seed: 1 }).mask.data;
        means.add(d, `s ${c}`, (performance.now() - t) / 1000);
        masks.push([`+ ${c} NLPE cycles`, refined]);
      }
      for (const [label, m] of masks) {
        if (!labels.includes(label)) labels.push(label);
        const mask = createMask(w, h, m);
        means.add(d, `diffusion ${label}`, mae(image, inpaintDiffusion(image, mask).image));
        means.add(d, `gan ${label}`, mae(image, await inpainter.inpaint(image, mask)));
      }
    }
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  const f = (d: number, key: string) => means.mean(d, key).toFixed(2);
  console.log(
    `\n${files.length} BSDS500 val crops (128×128), mean MAE, diffusion / the inpainting of ${[...new Set(models.map((m) => m.id))].join(", ")} (by density)\n`,
  );
  means.printHeader();
  for (const label of labels) {
    means.printRow(label, label, (d) => `${f(d, `diffusion ${label}`)} / ${f(d, `gan ${label}`)}`);
  }
  for (const c of cycleList) {
    console.log(`NLPE ${c} cycles, s per crop: ${densities.map((d) => f(d, `s ${c}`)).join(" / ")}`);
  }
  console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s`);
}
