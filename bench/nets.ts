/**
 * Speed of the networks (issue 4), on whatever tfjs backend is active (default wasm, one thread):
 * - training samples/s at 64x64: generator-only (warm-up) step and whole GAN step (mask generator, inpainting
 *   generator, critic), and their ratio measured in the same run;
 * - mask + inpainting time for one 128x128 crop (paper: 0.93 s on one i5-6600K core; target < 0.1 s) and one
 *   768x512 Kodak image (target < 3 s).
 * Uses the shipped model for the timings of inference when there is one (speed does not depend on the
 * weights, only on the architecture), else a freshly initialised one of the default architecture.
 * The machine is shared: the 1-minute load average is printed beside the figures.
 *
 *   npm run bench -- nets [--steps 4] [--batch 16] [--repeats 3] [--model DIR] [--tf-backend wasm]
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { centreCrop, readImage } from "../src/image/io.ts";
import { initBackend } from "../src/nets/backend.ts";
import { defaultModelDir, loadGanModel } from "../src/nets/gan-backend.ts";
import { DEFAULT_TRAIN, Trainer } from "../src/nets/train.ts";

const DATASETS = join(import.meta.dirname, "..", "..", "shared", "datasets");

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: "string", default: "4" },
      batch: { type: "string", default: "16" },
      repeats: { type: "string", default: "3" },
      model: { type: "string" },
      "tf-backend": { type: "string", default: "wasm" },
    },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const repeats = Number(values.repeats);
  const backend = await initBackend(values["tf-backend"], { training: true });
  console.log(`tfjs backend: ${backend}; load average at start ${loadavg()[0].toFixed(2)} (2 cores, shared)`);

  // --- training speed ---
  const runDir = mkdtempSync(join(tmpdir(), "maskcodec-bench-nets-"));
  const trainer = new Trainer({
    ...DEFAULT_TRAIN,
    densityMin: 0.01,
    densityMax: 0.25,
    dataDir: join(DATASETS, "bsds500", "train"),
    out: join(runDir, "bench-model"),
    runDir,
    batch,
    size: 64,
    warmupSteps: steps + 1,
    steps: 2 * steps + 2,
    maxImages: 20,
  });
  await trainer.setup(false);
  const time = () => {
    const t = performance.now();
    trainer.step();
    return (performance.now() - t) / 1000;
  };
  time(); // first step compiles/allocates
  const warm = Array.from({ length: steps }, time);
  time(); // first adversarial step
  const gan = Array.from({ length: steps }, time);
  const warmS = median(warm);
  const ganS = median(gan);
  console.log("\n| training step (64x64, batch %d) | s/step (median of %d) | samples/s |", batch, steps);
  console.log("| --- | --- | --- |");
  console.log(`| generator only (L1 warm-up) | ${warmS.toFixed(2)} | ${(batch / warmS).toFixed(1)} |`);
  console.log(`| GAN step (mask gen + gen + critic) | ${ganS.toFixed(2)} | ${(batch / ganS).toFixed(1)} |`);
  console.log(`GAN step / generator-only step: ${(ganS / warmS).toFixed(2)}x (same run)`);

  // --- inference speed ---
  let modelDir = values.model;
  if (!modelDir) {
    try {
      modelDir = defaultModelDir(0.1);
    } catch {
      modelDir = (await trainer.export()).dir;
    }
  }
  const model = await loadGanModel(modelDir, { tfBackend: values["tf-backend"] });
  console.log(`\ninference with ${model.id} (width ${model.arch.width}, levels ${model.arch.levels})`);
  const kodakDir = join(DATASETS, "kodak");
  const kodak = existsSync(kodakDir)
    ? readdirSync(kodakDir)
        .filter((f) => f.endsWith(".png"))
        .sort()
    : [];
  const bsds = readdirSync(join(DATASETS, "bsds500", "val")).sort();
  const small = centreCrop(await readImage(join(DATASETS, "bsds500", "val", bsds[0])), 128);
  const large = kodak.length ? await readImage(join(kodakDir, kodak[0])) : undefined;
  console.log("\n| image | mask (s) | inpainting (s) | total (s) | target |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const [label, img, target] of [
    ["128x128 (BSDS500 val centre crop)", small, "< 0.1 s (paper 0.93 s)"],
    ...(large ? [[`${large.width}x${large.height} (Kodak ${kodak[0]})`, large, "< 3 s"]] : []),
  ] as Array<[string, typeof small, string]>) {
    const selector = model.selector();
    const inpainter = model.inpainter();
    await inpainter.inpaint(img, await selector.select(img, 0.1)); // warm up
    const maskT: number[] = [];
    const inpT: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let t = performance.now();
      const mask = await selector.select(img, 0.1);
      maskT.push((performance.now() - t) / 1000);
      t = performance.now();
      await inpainter.inpaint(img, mask);
      inpT.push((performance.now() - t) / 1000);
    }
    const m = median(maskT);
    const p = median(inpT);
    console.log(`| ${label} | ${m.toFixed(3)} | ${p.toFixed(3)} | ${(m + p).toFixed(3)} | ${target} |`);
  }
  console.log(`\nload average at end ${loadavg()[0].toFixed(2)}; medians of ${repeats} runs`);
}
