/**
 * How far a model's masks are from what NLPE would make of them: for BSDS500 val crops (128×128, never
 * test-dev) at one density, the model's dithered mask, then `--cycles` cycles of non-local pixel exchange with
 * diffusion; prints the pixels moved and the diffusion MAE before and after (and the model's own inpainting
 * MAE). A mask generator that had learned NLPE's moves (train --nlpe-target) would leave NLPE less to do.
 *
 *   npm run bench -- nlpe-moves --model DIR[,DIR...] [--limit 12] [--density 0.05] [--cycles 0.5]
 */
import { parseArgs } from "node:util";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { nlpe } from "../src/baselines/nlpe.ts";
import { mae } from "../src/image/metrics.ts";
import { targetCount } from "../src/image/types.ts";
import { defaultModelDir, loadGanModel } from "../src/nets/gan-backend.ts";
import { valCrop, valFiles } from "./_val-crops.ts";

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      limit: { type: "string", default: "12" },
      density: { type: "string", default: "0.05" },
      cycles: { type: "string", default: "0.5" },
    },
  });
  const density = Number(values.density);
  const cycles = Number(values.cycles);
  const files = valFiles(Number(values.limit));
  const images = await Promise.all(files.map(valCrop));
  console.log(
    `\n${files.length} BSDS500 val crops (128×128), density ${density} (${targetCount(128 * 128, density)} pixels), NLPE ${cycles} cycles\n`,
  );
  console.log("| model | pixels moved by NLPE | diffusion MAE before → after | model's own MAE |");
  console.log("| --- | --- | --- | --- |");
  for (const dir of values.model ? values.model.split(",") : [defaultModelDir(density)]) {
    const model = await loadGanModel(dir);
    const selector = model.selector("dither");
    const inpainter = model.inpainter();
    let moved = 0;
    let before = 0;
    let after = 0;
    let own = 0;
    for (const image of images) {
      const mask = await selector.select(image, density);
      const improved = nlpe(image, mask, { cycles, seed: 3 }).mask;
      let changed = 0;
      for (let i = 0; i < mask.data.length; i++) changed += mask.data[i] !== improved.data[i] ? 1 : 0;
      moved += changed / 2;
      before += mae(image, inpaintDiffusion(image, mask).image);
      after += mae(image, inpaintDiffusion(image, improved).image);
      own += mae(image, await inpainter.inpaint(image, mask));
    }
    const n = images.length;
    console.log(
      `| ${dir} | ${(moved / n).toFixed(1)} | ${(before / n).toFixed(2)} → ${(after / n).toFixed(2)} | ${(own / n).toFixed(2)} |`,
    );
  }
}
