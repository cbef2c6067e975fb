import { resolve } from "node:path";
import type { Command } from "commander";
import type { ColourTransform } from "../codec/types.ts";
import { invalidParameter, MaskcodecError } from "../errors.ts";
import { parseBppOption, parseSizeOption, runLowrateEncode } from "./encode-lowrate.ts";
import { integerParser, parseDensityOption, parseNumber, replaceExtension, secondsSince } from "./options.ts";

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
  seed: number;
  model?: string;
  refine?: number;
  force?: boolean;
  json?: boolean;
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
      "mask selector: tree (subdivision trees for luma and chroma, the low-rate mode; default with --bpp/--size), gan, gan+nlpe (the network's mask + 5 NLPE cycles), grid, random, analytic, ps, ps+nlpe (default: gan for gan, ps for diffusion)",
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
    .option("--seed <n>", "seed for random choices", integerParser("seed", 0, 2 ** 31 - 1), 1)
    .option("--model <dir>", "gan model folder (default: the shipped model for the density)")
    .option(
      "--refine <cycles>",
      "improve the chosen mask by this many cycles of non-local pixel exchange (diffusion error; default 0)",
      parseCycles,
    )
    .option("-f, --force", "overwrite an existing output file")
    .option("--json", "print one JSON object with the figures, and no progress")
    .action(async (input: string, flags: EncodeFlags) => {
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
  if (flags.density === undefined) {
    throw new MaskcodecError("encode needs --density, --bpp or --size", "ERR_INVALID_PARAMETER");
  }
  const density = flags.density;
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");
  const { encoderSetup, parseBackend, parseMaskSelector, defaultMaskSelector } = await import(
    "../backends.ts"
  );
  const { readImage } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { maskDensity } = await import("../image/types.ts");
  const { encodeImage, defaultQuantiser } = await import("../codec/codec.ts");
  const { storedLevels } = await import("../codec/quantiser.ts");
  const { terminalProgress } = await import("../util/progress.ts");

  // Validate everything before any work, so that a mistake costs nothing and leaves nothing behind.
  const backend = parseBackend(flags.backend ?? "gan");
  const mask = parseMaskSelector(flags.mask ?? defaultMaskSelector(backend));
  if (flags.colour !== undefined && flags.colour !== "ycbcr" && flags.colour !== "none") {
    throw invalidParameter("colour", "ycbcr or none", flags.colour);
  }
  if (flags.tonalSteps !== undefined && !(flags.tonal && backend === "gan")) {
    throw new MaskcodecError("--tonal-steps needs --tonal with --backend gan", "ERR_INVALID_PARAMETER");
  }
  const output = flags.output ?? replaceExtension(input, ".mgc");
  checkOutputPath(output, { force: flags.force, inputs: [input] });
  if (resolve(output) === resolve(input))
    throw invalidParameter("output", "a path other than the input", output);

  const start = performance.now();
  const image = await readImage(input);
  const colour: ColourTransform =
    (flags.colour as ColourTransform | undefined) ?? (image.channels === 3 ? "ycbcr" : "none");
  const defaults = defaultQuantiser(colour);
  const quantiser = {
    lumaLevels: flags.levels ?? defaults.lumaLevels,
    chromaLevels: flags.chromaLevels ?? flags.levels ?? defaults.chromaLevels,
  };
  const progress = terminalProgress(`encode ${mask}${flags.refine ? "+nlpe" : ""}`, { silent: flags.json });
  const setup = await encoderSetup({
    backend,
    mask,
    density,
    seed: flags.seed,
    model: flags.model,
    tonal: flags.tonal,
    tonalSteps: flags.tonalSteps,
    refineCycles: flags.refine,
    onProgress: progress,
  });
  const encoded = await encodeImage(image, {
    selector: setup.selector,
    density,
    backend,
    modelId: setup.modelId,
    weightHash: setup.weightHash,
    colour,
    quantiser,
    tonal: setup.tonal,
  });
  progress.done();
  await writeFileAtomic(output, encoded.bytes);
  const encodeSeconds = secondsSince(start);

  if (!flags.json) {
    const bpp = (encoded.bytes.length * 8) / (image.width * image.height);
    process.stdout.write(
      `${output}: ${encoded.bytes.length} bytes, ${bpp.toFixed(4)} bpp, ${image.width}×${image.height}, ` +
        `density ${maskDensity(encoded.mask).toFixed(4)}, ${backend}/${mask}, ${encodeSeconds.toFixed(2)} s\n`,
    );
    return;
  }
  // --json also reports the quality the decoder will get; that needs one inpainting here.
  const decodeStart = performance.now();
  const reconstruction = await setup.inpainter.inpaint(
    encoded.known,
    encoded.mask,
    storedLevels(encoded.header.quantiser, encoded.header.colour),
  );
  const decodeSeconds = secondsSince(decodeStart);
  const figures = quality(image, reconstruction);
  const pixels = image.width * image.height;
  const result = {
    input,
    output,
    bytes: encoded.bytes.length,
    bpp: (encoded.bytes.length * 8) / pixels,
    bpp_mask: (encoded.sizes.mask * 8) / pixels,
    bpp_values: (encoded.sizes.values * 8) / pixels,
    width: image.width,
    height: image.height,
    channels: image.channels,
    density: maskDensity(encoded.mask),
    requested_density: density,
    backend,
    mask,
    refine_cycles: flags.refine ?? 0,
    model: setup.modelId,
    colour,
    luma_levels: quantiser.lumaLevels,
    chroma_levels: quantiser.chromaLevels,
    tonal: Boolean(flags.tonal),
    seconds: encodeSeconds,
    decode_seconds: decodeSeconds,
    psnr: figures.psnr,
    ssim: figures.ssim,
    mae: figures.mae,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
