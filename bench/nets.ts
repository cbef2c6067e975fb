/**
 * Speed of the networks, on whatever tfjs backend is active (default wasm, one thread):
 * - training samples/s at 64x64 (--size): generator-only (warm-up) step and whole GAN step (mask generator, inpainting
 *   generator, critic), and their ratio measured in the same run;
 * - mask + inpainting time for one 128x128 crop (paper: 0.93 s on one i5-6600K core; target < 0.1 s) and one
 *   768x512 Kodak image (target < 3 s).
 * Uses the shipped model for the timings of inference when there is one (speed does not depend on the
 * weights, only on the architecture), else a freshly initialised one of the default architecture.
 * The machine is shared: the 1-minute load average is printed beside the figures.
 *
 *   npm run bench -- nets [--steps 4] [--batch 16] [--size 64] [--repeats 3] [--model DIR[,DIR...]] [--tf-backend wasm]
 *                         [--training-only] [--ssim-weight W]
 *                         [--inference-only] [--width 8] [--diffusion-input] [--dither-masks] [--analytic-mask]
 *                         [--bottleneck K]
 * (--width, --diffusion-input, --analytic-mask, --dither-masks and --bottleneck set the architecture and mask
 * rule of the timed training steps; the shipped models' configuration is the first four with --width 4 and
 * --bottleneck 8.)
 * Several models (comma-separated) are timed one after the other in the same run.
 *
 * With --quality it runs the quality benchmark instead: the 128x128 centre crops of
 * ../shared/datasets/bsds500/test-dev, mean MAE (0-255) and SSIM of the model's mask + inpainting, without
 * quantisation and through the real codec path (encodeImage -> .mgc bytes -> decodeBytes), beside the
 * paper's Table 3.
 *
 *   npm run bench -- nets --quality [--limit 100] [--densities 0.01,0.02,0.05,0.1,0.2] [--model DIR] [--set val]
 *                                   [--refine C] [--tonal] [--format-version V] [--arithmetic int16|float32]
 * --refine C adds the encoder's `--refine C`: the model's default mask improved by C cycles of NLPE (diffusion
 * error), with the gan inpainting, without quantisation and through the codec (that mask, the same stream).
 * --tonal adds the encoder's `--tonal` on the model's default mask: the optimised values without quantisation,
 * through the codec (bpp: the optimised values cost more bits than the originals) and the seconds it took.
 * --format-version V decodes as version V does: the inpainting generator's convolutions (src/nets/wasm-conv.ts;
 * int16 from version 5, float32 before) and the stop and arithmetic of its diffusion input
 * (diffusionInputTolerance, diffusionDecodeArithmetic);
 * by default the version this build writes. --arithmetic overrides the convolutions alone. The mask generator
 * runs in float32, as the encoder runs it.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { centreCrop, readImage } from "../src/image/io.ts";
import { initBackend } from "../src/nets/backend.ts";
import { defaultModelDir, loadGanModel } from "../src/nets/gan-backend.ts";
import { DEFAULT_ARCH } from "../src/nets/models.ts";
import { DEFAULT_TRAIN, Trainer, type TrainOptions } from "../src/nets/train.ts";

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
      size: { type: "string", default: "64" },
      "ssim-weight": { type: "string", default: "0" },
      "training-only": { type: "boolean", default: false },
      repeats: { type: "string", default: "3" },
      model: { type: "string" },
      "tf-backend": { type: "string", default: "wasm" },
      quality: { type: "boolean", default: false },
      "inference-only": { type: "boolean", default: false },
      width: { type: "string", default: "8" },
      "diffusion-input": { type: "boolean", default: false },
      "dither-masks": { type: "boolean", default: false },
      "analytic-mask": { type: "boolean", default: false },
      bottleneck: { type: "string", default: "0" },
      set: { type: "string", default: "test-dev" },
      limit: { type: "string", default: "100" },
      densities: { type: "string", default: "0.01,0.02,0.05,0.1,0.2" },
      refine: { type: "string", default: "0" },
      tonal: { type: "boolean", default: false },
      arithmetic: { type: "string" },
      "format-version": { type: "string" },
    },
  });
  if (values.quality) {
    await quality(
      values.model,
      Number(values.limit),
      values.densities.split(",").map(Number),
      values["tf-backend"],
      values.set,
      Number(values.refine),
      values.tonal,
      values.arithmetic,
      values["format-version"],
    );
    return;
  }
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const repeats = Number(values.repeats);
  const backend = await initBackend(values["tf-backend"], { training: true });
  console.log(`tfjs backend: ${backend}; load average at start ${loadavg()[0].toFixed(2)} (2 cores, shared)`);

  if (!values["inference-only"]) {
    await trainingSpeed(steps, batch, Number(values.size), {
      arch: {
        ...DEFAULT_ARCH,
        width: Number(values.width),
        diffusionInput: values["diffusion-input"],
        analyticMask: values["analytic-mask"],
        bottleneck: Number(values.bottleneck),
      },
      ditherMasks: values["dither-masks"],
      ssimWeight: Number(values["ssim-weight"]),
    });
  }
  if (values["training-only"]) return;

  // --- inference speed ---
  const modelDirs = values.model ? values.model.split(",") : [defaultModelDir(0.1)];
  const kodakDir = join(DATASETS, "kodak");
  const kodak = existsSync(kodakDir)
    ? readdirSync(kodakDir)
        .filter((f) => f.endsWith(".png"))
        .sort()
    : [];
  const bsds = readdirSync(join(DATASETS, "bsds500", "val")).sort();
  const small = centreCrop(await readImage(join(DATASETS, "bsds500", "val", bsds[0])), 128);
  const large = kodak.length ? await readImage(join(kodakDir, kodak[0])) : undefined;
  for (const modelDir of modelDirs) {
    const model = await loadGanModel(modelDir, { tfBackend: values["tf-backend"] });
    const a = model.arch;
    const input = !a.pullPush ? "none" : a.diffusionInput ? "diffusion" : "pull-push";
    console.log(
      `\ninference with ${model.id} (width ${a.width}, levels ${a.levels}, interpolation ${input})`,
    );
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
  }
  console.log(`\nload average at end ${loadavg()[0].toFixed(2)}; medians of ${repeats} runs`);
}

async function trainingSpeed(
  steps: number,
  batch: number,
  size: number,
  variant: Pick<TrainOptions, "arch" | "ditherMasks" | "ssimWeight">,
): Promise<void> {
  const a = variant.arch;
  console.log(
    `\ntraining: width ${a.width}${a.bottleneck ? `, bottleneck ${a.bottleneck}` : ""}, interpolation ${a.diffusionInput ? "diffusion" : "pull-push"}, masks ${variant.ditherMasks ? "dithered" : "own rounding"}${a.analyticMask ? ", analytic mask prior" : ""}${variant.ssimWeight ? `, SSIM weight ${variant.ssimWeight}` : ""}`,
  );
  const runDir = mkdtempSync(join(tmpdir(), "maskcodec-bench-nets-"));
  const trainer = new Trainer({
    ...DEFAULT_TRAIN,
    densityMin: 0.01,
    densityMax: 0.25,
    dataDir: join(DATASETS, "bsds500", "train"),
    out: join(runDir, "bench-model"),
    runDir,
    batch,
    size,
    warmupSteps: steps + 1,
    steps: 3 * steps + 2,
    maxImages: 20,
    ...variant,
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
  trainer.options.alpha = 0; // v1-v3 were trained so: no critic (v4 has it, the GAN step above)
  const noCritic = Array.from({ length: steps }, time);
  const warmS = median(warm);
  const ganS = median(gan);
  console.log(
    `\n| training step (${size}x${size}, batch ${batch}) | s/step (median of ${steps}) | samples/s |`,
  );
  console.log("| --- | --- | --- |");
  console.log(`| generator only (L1 warm-up) | ${warmS.toFixed(2)} | ${(batch / warmS).toFixed(1)} |`);
  console.log(`| GAN step (mask gen + gen + critic) | ${ganS.toFixed(2)} | ${(batch / ganS).toFixed(1)} |`);
  const noCriticS = median(noCritic);
  console.log(
    `| mask gen + gen, alpha = 0 (no critic) | ${noCriticS.toFixed(2)} | ${(batch / noCriticS).toFixed(1)} |`,
  );
  console.log(`GAN step / generator-only step: ${(ganS / warmS).toFixed(2)}x (same run)`);
}

/** The paper's Table 3 (BSDS500 test, 128x128 centre crops, colour, 0-255). */
const PAPER: Record<string, { maeGan: number; maeNlpe: number; ssimGan: number; ssimNlpe: number }> = {
  "0.05": { maeGan: 11.19, maeNlpe: 10.98, ssimGan: 0.71, ssimNlpe: 0.7 },
  "0.1": { maeGan: 8.87, maeNlpe: 7.51, ssimGan: 0.79, ssimNlpe: 0.81 },
  "0.2": { maeGan: 6.7, maeNlpe: 4.31, ssimGan: 0.85, ssimNlpe: 0.91 },
};

async function quality(
  modelArg: string | undefined,
  limit: number,
  densities: number[],
  tfBackend: string,
  set: string,
  refineCycles: number,
  tonal: boolean,
  arithmeticArg: string | undefined,
  versionArg: string | undefined,
) {
  const { encodeImage, decodeBytes } = await import("../src/codec/codec.ts");
  const {
    FORMAT_VERSION,
    LAYOUT_VERSIONS,
    diffusionDecodeArithmetic,
    diffusionInputTolerance,
    networkArithmetic,
  } = await import("../src/codec/stream.ts");
  const version = versionArg === undefined ? FORMAT_VERSION : Number(versionArg);
  if (!LAYOUT_VERSIONS.includes(version)) throw new Error(`--format-version: ${LAYOUT_VERSIONS.join(", ")}`);
  const arithmetic = arithmeticArg ?? networkArithmetic(version);
  if (arithmetic !== "int16" && arithmetic !== "float32") throw new Error("--arithmetic: int16 or float32");
  const windows = {
    arithmetic,
    diffusionTolerance: (pixels: number) => diffusionInputTolerance(version, pixels),
    diffusionArithmetic: diffusionDecodeArithmetic(version),
  } as const;
  console.error(`decoding as format version ${version}: networks' arithmetic ${arithmetic}`);
  const { mae, ssim } = await import("../src/image/metrics.ts");
  const { createMask, targetCount } = await import("../src/image/types.ts");
  const { topCountMask } = await import("../src/mask/topk.ts");
  const { ditherScores } = await import("../src/mask/dither.ts");
  const { orderedDither } = await import("../src/mask/ordered-dither.ts");
  const { Rng } = await import("../src/nets/ops.ts");
  const { analyticSelector, diffusionInpainter, nlpe } = await import("../src/baselines/index.ts");
  const dir = join(DATASETS, "bsds500", set);
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(0, limit);
  const methods = ["threshold", "dither", "ordered", "flat dither", "random", "analytic"] as const;
  type Acc = Record<string, { mae: number[]; ssim: number[] }>;
  const acc = new Map<number, Acc>();
  const started = performance.now();
  const models = new Map<string, Awaited<ReturnType<typeof loadGanModel>>>();
  for (const file of files) {
    const image = centreCrop(await readImage(join(dir, file)), 128);
    const n = image.width * image.height;
    for (const density of densities) {
      const modelDir = modelArg ?? defaultModelDir(density);
      let model = models.get(modelDir);
      if (!model) {
        model = await loadGanModel(modelDir, { tfBackend });
        models.set(modelDir, model);
        console.error(
          `model ${model.id} (${model.weightHash.slice(0, 12)}), default selection ${model.selection}`,
        );
      }
      const count = targetCount(n, density);
      // the mask generator in float32, as the encoder runs it (src/backends.ts)
      const scores = await model.scores(image, density);
      const masks = {
        threshold: topCountMask(scores, n, count),
        dither: ditherScores(scores, image.width, image.height, count),
        ordered: orderedDither(scores, image.width, image.height, count),
        "flat dither": ditherScores(new Float32Array(n), image.width, image.height, count),
        random: topCountMask(new Rng(7).fill(new Float32Array(n)), n, count),
        analytic: (await analyticSelector().select(image, density)).data,
      };
      const a: Acc = acc.get(density) ?? {};
      const add = (key: string, out: typeof image) => {
        a[key] ??= { mae: [], ssim: [] };
        a[key].mae.push(mae(image, out));
        a[key].ssim.push(ssim(image, out));
      };
      for (const m of methods) {
        add(
          m,
          await model
            .inpainter(undefined, windows)
            .inpaint(image, createMask(image.width, image.height, masks[m])),
        );
      }
      const analyticMask = createMask(image.width, image.height, masks.analytic);
      add("analytic diffusion", await diffusionInpainter().inpaint(image, analyticMask));
      const m = model;
      const throughCodec = async (
        mask: ReturnType<typeof createMask>,
        key: string,
        tonalOptimiser?: ReturnType<typeof m.tonalOptimiser>,
      ) => {
        const encoded = await encodeImage(image, {
          selector: { id: "gan", select: async () => mask },
          tonal: tonalOptimiser,
          density,
          backend: "gan",
          modelId: m.id,
          weightHash: m.weightHash,
        });
        const decoded = await decodeBytes(encoded.bytes, async (header) => {
          if (header.weightHash !== m.weightHash) throw new Error("weight hash mismatch");
          return m.inpainter(undefined, windows);
        });
        add(key, decoded.image);
        a[`${key} bpp`] ??= { mae: [], ssim: [] };
        a[`${key} bpp`].mae.push((encoded.bytes.length * 8) / n);
      };
      const mask = createMask(image.width, image.height, masks[model.selection]);
      await throughCodec(mask, "codec");
      if (tonal) {
        // the optimiser is deterministic: once on its own (exact values, timed), once inside the codec
        const t = performance.now();
        const values = await model.tonalOptimiser().optimise(image, mask);
        a["tonal s"] ??= { mae: [], ssim: [] };
        a["tonal s"].mae.push((performance.now() - t) / 1000);
        add("tonal", await model.inpainter(undefined, windows).inpaint(values, mask));
        await throughCodec(mask, "codec tonal", model.tonalOptimiser());
      }
      if (refineCycles > 0) {
        const t = performance.now();
        const refined = nlpe(image, mask, { cycles: refineCycles, seed: 1 }).mask;
        a["refine s"] ??= { mae: [], ssim: [] };
        a["refine s"].mae.push((performance.now() - t) / 1000);
        add("refined", await model.inpainter(undefined, windows).inpaint(image, refined));
        await throughCodec(refined, "codec refined");
      }
      acc.set(density, a);
    }
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  console.log(
    `\nBSDS500 ${set}, ${files.length} images, 128x128 centre crops, ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(
    "MAE (0-255) / SSIM of the gan inpainting with masks chosen by: the mask generator thresholded, the mask\n" +
      "generator dithered (error diffusion), ordered-dithered (blue-noise tile), a flat (uniform) dithered mask, a uniformly random mask, the analytic mask\n" +
      "(src/mask/analytic.ts); homogeneous diffusion with the analytic mask; and through the codec\n" +
      "(default selection, default quantiser), beside the paper's Table 3.\n",
  );
  const refinedHeader =
    (refineCycles > 0 ? ` + ${refineCycles} NLPE cycles | codec, + NLPE (bpp) | NLPE s |` : "") +
    (tonal ? " tonal values | codec, tonal (bpp) | tonal s |" : "");
  console.log(
    `| density | threshold | dither | ordered | flat dither | random | analytic | diffusion, analytic | codec (bpp) |${refinedHeader} paper mask GAN | paper PS+NLPE |`,
  );
  console.log(
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |${refineCycles > 0 ? " --- | --- | --- |" : ""}${tonal ? " --- | --- | --- |" : ""}`,
  );
  for (const density of densities) {
    const a = acc.get(density);
    if (!a) continue;
    const p = PAPER[String(density)];
    const cell = (k: string) => `${mean(a[k].mae).toFixed(2)} / ${mean(a[k].ssim).toFixed(3)}`;
    console.log(
      `| ${density} | ${methods.map(cell).join(" | ")} | ${cell("analytic diffusion")} | ${cell("codec")} (${mean(a["codec bpp"].mae).toFixed(3)}) |${refineCycles > 0 ? ` ${cell("refined")} | ${cell("codec refined")} (${mean(a["codec refined bpp"].mae).toFixed(3)}) | ${mean(a["refine s"].mae).toFixed(2)} |` : ""}${tonal ? ` ${cell("tonal")} | ${cell("codec tonal")} (${mean(a["codec tonal bpp"].mae).toFixed(3)}) | ${mean(a["tonal s"].mae).toFixed(2)} |` : ""} ${p ? `${p.maeGan} / ${p.ssimGan}` : "-"} | ${p ? `${p.maeNlpe} / ${p.ssimNlpe}` : "-"} |`,
    );
  }
  // to tell close runs apart (e.g. the two arithmetics): the same means to more places
  for (const density of densities) {
    const a = acc.get(density);
    if (!a) continue;
    const fine = (k: string) => `${k} ${mean(a[k].mae).toFixed(4)} / ${mean(a[k].ssim).toFixed(5)}`;
    console.log(`${density}: ${[...methods, "codec"].map(fine).join(", ")}`);
  }
}
