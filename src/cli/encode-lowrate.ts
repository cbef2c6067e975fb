import { resolve } from "node:path";
import { invalidParameter } from "../errors.ts";
import { parseNumber, replaceExtension, secondsSince } from "./options.ts";

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
  json?: boolean;
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

export async function runLowrateEncode(input: string, flags: LowrateFlags): Promise<void> {
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");
  const { readImage } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { LowrateEncoder } = await import("../lowrate/codec.ts");
  const { encodeToSize, settingsFor, LOWRATE_DEFAULTS } = await import("../lowrate/rate.ts");

  const targets = [flags.density, flags.bpp, flags.size].filter((v) => v !== undefined).length;
  if (targets !== 1) {
    throw invalidParameter("rate", "exactly one of --density, --bpp and --size", `${targets} of them`);
  }
  const output = flags.output ?? replaceExtension(input, ".mgc");
  checkOutputPath(output, { force: flags.force, inputs: [input] });
  if (resolve(output) === resolve(input))
    throw invalidParameter("output", "a path other than the input", output);

  const start = performance.now();
  const image = await readImage(input);
  const pixels = image.width * image.height;
  const tuning = {
    ...LOWRATE_DEFAULTS,
    lumaLevels: flags.levels ?? LOWRATE_DEFAULTS.lumaLevels,
    chromaLevels: flags.chromaLevels ?? flags.levels ?? LOWRATE_DEFAULTS.chromaLevels,
  };
  const encoder = new LowrateEncoder(image);
  let target: number | undefined;
  let result: ReturnType<typeof encodeToSize>;
  if (flags.density !== undefined) {
    const settings = settingsFor(Math.max(1, Math.round(flags.density * pixels)), tuning);
    result = {
      encoded: encoder.encode(settings, { decode: true }),
      settings,
      evaluations: { plain: 0, tonal: 0 },
    };
  } else {
    target = flags.size ?? Math.floor(((flags.bpp as number) * pixels) / 8);
    // --levels fixes the quantiser; otherwise the rate control chooses one.
    const levels =
      flags.levels !== undefined || flags.chromaLevels !== undefined
        ? [[tuning.lumaLevels, tuning.chromaLevels] as const]
        : undefined;
    result = encodeToSize(image, target, { tuning, encoder, levels });
  }
  const { encoded, settings } = result;
  await writeFileAtomic(output, encoded.bytes);
  const seconds = secondsSince(start);
  const bytes = encoded.bytes.length;
  const bpp = (bytes * 8) / pixels;
  if (!flags.json) {
    process.stdout.write(
      `${output}: ${bytes} bytes, ${bpp.toFixed(4)} bpp${target !== undefined ? ` (target ${target} bytes)` : ""}, ` +
        `${image.width}×${image.height}, ${encoded.lumaCount} luma / ${encoded.chromaCount} chroma points, ` +
        `diffusion/tree, ${seconds.toFixed(2)} s\n`,
    );
    return;
  }
  const figures = quality(image, encoded.decoded as NonNullable<typeof encoded.decoded>);
  process.stdout.write(
    `${JSON.stringify({
      input,
      output,
      bytes,
      bpp,
      target_bytes: target ?? null,
      width: image.width,
      height: image.height,
      channels: image.channels,
      backend: "diffusion",
      mask: "tree",
      density: encoded.lumaCount / pixels,
      luma_points: encoded.lumaCount,
      chroma_points: encoded.chromaCount,
      luma_levels: settings.lumaLevels,
      chroma_levels: settings.chromaLevels,
      luma_root: settings.lumaRoot,
      chroma_root: settings.chromaRoot,
      tonal: settings.tonal ?? true,
      search_streams: result.evaluations.plain + result.evaluations.tonal,
      seconds,
      psnr: figures.psnr,
      ssim: figures.ssim,
      mae: figures.mae,
    })}\n`,
  );
}
