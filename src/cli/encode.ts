import { resolve } from "node:path";
import type { Command } from "commander";
import type { MaskSelectorName } from "../backends.ts";
import { MAX_PIXELS, MAX_THREADS } from "../codec/limits.ts";
import type { BackendId, ColourTransform } from "../codec/types.ts";
import { invalidParameter, MaskcodecError } from "../errors.ts";
import type { Image } from "../image/types.ts";
import { parseBppOption, parseSizeOption, runLowrateEncode } from "./encode-lowrate.ts";
import {
  defaultThreads,
  integerParser,
  parseDensityOption,
  parseNumber,
  replaceExtension,
  secondsSince,
  THREADS_HELP,
} from "./options.ts";

/** NLPE cycles: a number in [0, 100] (fractions allowed: 0.5 cycles = |mask| / 2 exchange attempts). */
function parseCycles(value: string): number {
  const cycles = parseNumber("refine", value);
  if (!(cycles >= 0 && cycles <= 100))
    throw invalidParameter("refine", "a number of cycles in [0, 100]", value);
  return cycles;
}

interface EncodeFlags {
  output?: string;
  density?: number;
  bpp?: number;
  size?: number;
  backend?: string;
  mask?: string;
  levels?: number;
  chromaLevels?: number;
  colour?: string;
  tonal?: boolean;
  tonalSteps?: number;
  seed?: number;
  model?: string;
  refine?: number;
  force?: boolean;
  json?: boolean;
  maxPixels?: number;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("encode")
    .description("compress an image: choose the known pixels, quantise and entropy-code them")
    .argument("<input>", "image file (PNG, JPEG, WebP, AVIF, TIFF)")
    .option("-o, --output <file>", "output .mgc file (default: input with .mgc)")
    .option("-d, --density <d>", "fraction of pixels to keep, in (0, 1]", parseDensityOption)
    .option(
      "--bpp <b>",
      "target rate in bits per pixel: the file is at most this (mask tree)",
      parseBppOption,
    )
    .option("--size <n>", "target file size in bytes, k = 1000, M = 10^6 (mask tree)", parseSizeOption)
    .option(
      "-b, --backend <name>",
      "gan (mask + inpainting networks) or diffusion (default: gan; diffusion for mask tree)",
    )
    .option(
      "-m, --mask <name>",
      "mask selector: tree (subdivision trees for luma and chroma, the low-rate mode; default with --bpp/--size), gan, gan+nlpe (the network's mask + 5 NLPE cycles), grid, random, analytic, ps, ps+nlpe (default: gan for gan; for diffusion ps up to 512×512 pixels, analytic above)",
    )
    .option(
      "-l, --levels <n>",
      "quantiser levels for luma (or every channel), 2..256",
      integerParser("levels", 2, 256),
    )
    .option(
      "--chroma-levels <n>",
      "quantiser levels for chroma, 2..256",
      integerParser("chroma-levels", 2, 256),
    )
    .option("--colour <transform>", "ycbcr or none (default: ycbcr for colour images)")
    .option(
      "--tonal",
      "store optimised values instead of the originals (diffusion: least squares; gan: 20 gradient steps through the inpainting generator)",
    )
    .option(
      "--tonal-steps <n>",
      "gan --tonal: optimisation steps (default 20; 10 keep most of the gain at half the time)",
      integerParser("tonal-steps", 1, 1000),
    )
    .option("--seed <n>", "seed for random choices (default 1)", integerParser("seed", 0, 2 ** 31 - 1))
    .option("--model <dir>", "gan model folder (default: the registered model for the density)")
    .option(
      "--refine <cycles>",
      "improve the chosen mask by this many cycles of non-local pixel exchange (diffusion error; default 0; with --mask gan+nlpe: its cycles, default 5)",
      parseCycles,
    )
    .option("-f, --force", "overwrite an existing output file")
    .option("--json", "print one JSON object with the figures, and no progress")
    .option(
      "--max-pixels <n>",
      `refuse an image with more pixels than this, before decoding it (default and most: ${MAX_PIXELS})`,
      integerParser("max-pixels", 1, MAX_PIXELS),
    )
    .option("--threads <n>", THREADS_HELP, integerParser("threads", 1, MAX_THREADS))
    .action(async (input: string, flags: EncodeFlags, command: Command) => {
      // a usage error like commander's own missing required option (exit code 2), since one of three will do
      if (flags.density === undefined && flags.bpp === undefined && flags.size === undefined) {
        command.error("error: required option '--density <d>', '--bpp <b>' or '--size <n>' not specified", {
          exitCode: 2,
          code: "commander.missingMandatoryOptionValue",
        });
      }
      await runEncode(input, flags);
    });
}

async function runEncode(input: string, flags: EncodeFlags): Promise<void> {
  if (flags.mask === "tree" || flags.bpp !== undefined || flags.size !== undefined) {
    if (flags.mask !== undefined && flags.mask !== "tree") {
      throw invalidParameter("mask", "tree (or none) with --bpp or --size", flags.mask);
    }
    if (flags.backend !== undefined && flags.backend !== "diffusion") {
      throw invalidParameter("backend", "diffusion (or none) for the tree mask", flags.backend);
    }
    for (const [flag, set] of [
      ["--colour", flags.colour],
      ["--tonal-steps", flags.tonalSteps],
      ["--model", flags.model],
      ["--refine", flags.refine],
    ] as const) {
      if (set !== undefined)
        throw new MaskcodecError(`${flag} does not apply to the tree mask`, "ERR_INVALID_PARAMETER");
    }
    return runLowrateEncode(input, flags);
  }
  const density = flags.density as number; // the action checked that one of the three is given
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");
  const { encode, resolveEncodeOptions } = await import("../api.ts");
  const { readImage } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { maskDensity } = await import("../image/types.ts");
  const { terminalProgress } = await import("../util/progress.ts");

  // Validate everything before any work, so that a mistake costs nothing and leaves nothing behind.
  const options = resolveEncodeOptions({
    density,
    backend: flags.backend as BackendId | undefined,
    mask: flags.mask as MaskSelectorName | undefined,
    refine: flags.refine,
    levels: flags.levels,
    chromaLevels: flags.chromaLevels,
    colour: flags.colour as ColourTransform | undefined,
    tonal: flags.tonal,
    tonalSteps: flags.tonalSteps,
    seed: flags.seed,
    model: flags.model,
    threads: flags.threads ?? defaultThreads(),
  });
  const { backend } = options;
  const output = flags.output ?? replaceExtension(input, ".mgc");
  checkOutputPath(output, { force: flags.force, inputs: [input] });
  if (resolve(output) === resolve(input))
    throw invalidParameter("output", "a path other than the input", output);

  const start = performance.now();
  let image: Image | undefined = await readImage(input, { maxPixels: flags.maxPixels });
  const { width, height, channels } = image;
  const { defaultMaskSelector } = await import("../backends.ts");
  const mask = options.mask ?? defaultMaskSelector(backend, width * height);
  const refined = options.refine && mask !== "gan+nlpe" ? "+nlpe" : "";
  const progress = terminalProgress(`encode ${mask}${refined}`, { silent: flags.json });
  options.onProgress = progress;
  const encoded = await encode(image, options);
  progress.done();
  await writeFileAtomic(output, encoded.bytes, { overwrite: flags.force });
  const encodeSeconds = secondsSince(start);

  if (!flags.json) {
    const bpp = (encoded.bytes.length * 8) / (width * height);
    process.stdout.write(
      `${output}: ${encoded.bytes.length} bytes, ${bpp.toFixed(4)} bpp, ${width}×${height}, ` +
        `density ${maskDensity(encoded.mask).toFixed(4)}, ${backend}/${mask}, ${encodeSeconds.toFixed(2)} s\n`,
    );
    return;
  }
  // --json also reports the quality the decoder will get; that needs one inpainting here. The original is
  // let go meanwhile and read again for the comparison, and the reconstruction is written into the known
  // image, which nothing reads after: at 12 MP each is 144 MB the inpainting can use.
  image = undefined;
  const decodeStart = performance.now();
  const reconstruction = await encoded.reconstruct({ consumeKnown: true });
  const decodeSeconds = secondsSince(decodeStart);
  const figures = quality(await readImage(input, { maxPixels: flags.maxPixels }), reconstruction);
  const pixels = width * height;
  const { colour, quantiser } = encoded.options;
  const result = {
    input,
    output,
    bytes: encoded.bytes.length,
    bpp: (encoded.bytes.length * 8) / pixels,
    bpp_mask: (encoded.sizes.mask * 8) / pixels,
    bpp_values: (encoded.sizes.values * 8) / pixels,
    width,
    height,
    channels,
    density: maskDensity(encoded.mask),
    requested_density: density,
    backend,
    mask,
    refine_cycles: options.refine,
    model: encoded.modelId,
    colour,
    luma_levels: quantiser.lumaLevels,
    chroma_levels: quantiser.chromaLevels,
    tonal: options.tonal,
    seconds: encodeSeconds,
    decode_seconds: decodeSeconds,
    psnr: figures.psnr,
    ssim: figures.ssim,
    mae: figures.mae,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
