import { resolve } from "node:path";
import type { RateEncoded } from "../api.ts";
import { invalidParameter } from "../errors.ts";
import type { Image } from "../image/types.ts";
import { defaultThreads, parseNumber, replaceExtension, secondsSince } from "./options.ts";

/**
 * `encode` in the low-rate mode (`--mask tree`, or any rate target): subdivision-tree masks for luma and
 * chroma, least-squares values, homogeneous diffusion per plane (src/lowrate). With --bpp or --size the
 * point budget is searched so the file is at most the target; with --density it is density · pixels.
 */

export interface LowrateFlags {
  output?: string;
  density?: number;
  bpp?: number;
  size?: number;
  levels?: number;
  chromaLevels?: number;
  force?: boolean;
  maxPixels?: number;
  json?: boolean;
  threads?: number;
}

/** "--bpp": a positive number of bits per pixel. */
export function parseBppOption(value: string): number {
  const bpp = parseNumber("bpp", value);
  if (!(bpp > 0 && bpp <= 64)) throw invalidParameter("bpp", "a number of bits per pixel in (0, 64]", value);
  return bpp;
}

/** "--size": bytes, with an optional k (1,000) or M (1,000,000) suffix: 12000, 12k, 1.5M. */
export function parseSizeOption(value: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([kKM]?)\s*$/.exec(value);
  const scale = m ? (m[2] === "" ? 1 : m[2] === "M" ? 1e6 : 1e3) : 0;
  const bytes = m ? Math.floor(Number(m[1]) * scale) : Number.NaN;
  if (!(bytes >= 1 && bytes <= 2 ** 32)) {
    throw invalidParameter("size", "a number of bytes such as 12000, 12k or 1.5M", value);
  }
  return bytes;
}

/**
 * The encoder's stream for `settings`, its threads ended. A function of its own so that nothing holds the
 * encoder once it returns: a local variable of the caller would keep its planes and trees (about 170 MB at
 * 12 MP, more with its values) alive through the `--json` decode, whose solver needs about a gigabyte there.
 */
function encodeAt(
  encoder: import("../lowrate/codec.ts").LowrateEncoder,
  settings: import("../lowrate/codec.ts").LowrateSettings,
): import("../lowrate/codec.ts").LowrateEncoded {
  try {
    return encoder.encode(settings);
  } finally {
    encoder.close();
  }
}

export async function runLowrateEncode(input: string, flags: LowrateFlags): Promise<void> {
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");
  const { readImage } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { LowrateEncoder, decodeLowrate } = await import("../lowrate/codec.ts");
  const { settingsFor, LOWRATE_DEFAULTS } = await import("../lowrate/rate.ts");
  const { encodeToRate } = await import("../api.ts");

  const targets = [flags.density, flags.bpp, flags.size].filter((v) => v !== undefined).length;
  if (targets !== 1) {
    throw invalidParameter("rate", "exactly one of --density, --bpp and --size", `${targets} of them`);
  }
  const output = flags.output ?? replaceExtension(input, ".mgc");
  checkOutputPath(output, { force: flags.force, inputs: [input] });
  if (resolve(output) === resolve(input))
    throw invalidParameter("output", "a path other than the input", output);

  const start = performance.now();
  let image: Image | undefined = await readImage(input, { maxPixels: flags.maxPixels });
  const { width, height, channels } = image;
  const pixels = width * height;
  const tuning = {
    ...LOWRATE_DEFAULTS,
    lumaLevels: flags.levels ?? LOWRATE_DEFAULTS.lumaLevels,
    chromaLevels: flags.chromaLevels ?? flags.levels ?? LOWRATE_DEFAULTS.chromaLevels,
  };
  let target: number | undefined;
  // The decoded image only for --json's figures, decoded once the encoder is gone and the original let go.
  let result: Omit<RateEncoded, "targetBytes" | "decoded">;
  if (flags.density !== undefined) {
    const settings = settingsFor(Math.max(1, Math.round(flags.density * pixels)), tuning);
    const encoded = encodeAt(
      new LowrateEncoder(image, { threads: flags.threads ?? defaultThreads() }),
      settings,
    );
    await (await import("../baselines/tonal-pool.ts")).TonalPool.settled();
    result = {
      bytes: encoded.bytes,
      settings,
      lumaPoints: encoded.lumaCount,
      chromaPoints: encoded.chromaCount,
      searchStreams: 0,
    };
  } else {
    const { terminalProgress } = await import("../util/progress.ts");
    const progress = terminalProgress("encode tree", { silent: flags.json });
    const rated = await encodeToRate(image, {
      bytes: flags.size,
      bpp: flags.size === undefined ? flags.bpp : undefined,
      levels: flags.levels,
      chromaLevels: flags.chromaLevels,
      onProgress: progress,
      decode: false,
      threads: flags.threads ?? defaultThreads(),
    }).finally(() => progress.done());
    target = rated.targetBytes;
    result = rated;
  }
  const { settings } = result;
  await writeFileAtomic(output, result.bytes, { overwrite: flags.force });
  const seconds = secondsSince(start);
  const bytes = result.bytes.length;
  const bpp = (bytes * 8) / pixels;
  if (!flags.json) {
    process.stdout.write(
      `${output}: ${bytes} bytes, ${bpp.toFixed(4)} bpp${target !== undefined ? ` (target ${target} bytes)` : ""}, ` +
        `${width}×${height}, ${result.lumaPoints} luma / ${result.chromaPoints} chroma points, ` +
        `diffusion/tree, ${seconds.toFixed(2)} s\n`,
    );
    return;
  }
  // as `encode --json` does: the original is let go during the decode and read again for the figures
  // (144 MB at 12 MP beside the decoder's solver), and the encoder's memory is collected before the
  // decoder's solver takes about a gigabyte
  image = undefined;
  const { collectGarbage } = await import("../util/collect.ts");
  await collectGarbage();
  const decoded = decodeLowrate(result.bytes).image;
  await collectGarbage();
  image = await readImage(input, { maxPixels: flags.maxPixels });
  const figures = quality(image, decoded);
  process.stdout.write(
    `${JSON.stringify({
      input,
      output,
      bytes,
      bpp,
      target_bytes: target ?? null,
      width,
      height,
      channels,
      backend: "diffusion",
      mask: "tree",
      density: result.lumaPoints / pixels,
      luma_points: result.lumaPoints,
      chroma_points: result.chromaPoints,
      luma_levels: settings.lumaLevels,
      chroma_levels: settings.chromaLevels,
      luma_root: settings.lumaRoot,
      chroma_root: settings.chromaRoot,
      tonal: settings.tonal ?? true,
      search_streams: result.searchStreams,
      seconds,
      psnr: figures.psnr,
      ssim: figures.ssim,
      mae: figures.mae,
    })}\n`,
  );
}
