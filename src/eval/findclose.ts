import { quality as measure } from "../image/metrics.ts";
import type { Image } from "../image/types.ts";
import { type CodecRun, QUALITY_RANGE, type ReferenceCodecName, referenceCodec } from "./codecs.ts";

/**
 * CompressAI's find_close: the quality setting of a reference codec whose file size (or PSNR) is closest
 * to a target, for side-by-side comparisons at equal rate (or equal quality). Size and PSNR grow with
 * the quality setting almost monotonically, so a bisection finds the neighbourhood and the few settings
 * around it are checked exactly.
 */

export type CloseBy = "size" | "psnr";

export interface CloseResult {
  codec: ReferenceCodecName;
  quality: number;
  bytes: number;
  bpp: number;
  psnr: number;
  ssim: number;
  mae: number;
  run: CodecRun;
  /** How many encodings the search needed. */
  evaluations: number;
}

export async function findClose(
  image: Image,
  codec: ReferenceCodecName,
  by: CloseBy,
  target: number,
): Promise<CloseResult> {
  const encoder = referenceCodec(codec);
  const [lo, hi] = QUALITY_RANGE[codec];
  const memo = new Map<number, { run: CodecRun; value: number; psnr: number; ssim: number; mae: number }>();
  const evaluate = async (q: number) => {
    let entry = memo.get(q);
    if (!entry) {
      const run = await encoder.run(image, { quality: q });
      const figures = measure(image, run.decoded);
      const value = by === "size" ? run.bytes.length : figures.psnr;
      entry = { run, value, psnr: figures.psnr, ssim: figures.ssim, mae: figures.mae };
      memo.set(q, entry);
    }
    return entry;
  };
  // Bisection for the smallest quality whose value reaches the target.
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if ((await evaluate(mid)).value < target) a = mid + 1;
    else b = mid;
  }
  // Check the neighbourhood exactly (the curves are not strictly monotonic).
  let best = a;
  for (let q = Math.max(lo, a - 2); q <= Math.min(hi, a + 2); q++) {
    const d = Math.abs((await evaluate(q)).value - target);
    if (d < Math.abs((await evaluate(best)).value - target)) best = q;
  }
  const chosen = (await evaluate(best))!;
  const pixels = image.width * image.height;
  return {
    codec,
    quality: best,
    bytes: chosen.run.bytes.length,
    bpp: (chosen.run.bytes.length * 8) / pixels,
    psnr: chosen.psnr,
    ssim: chosen.ssim,
    mae: chosen.mae,
    run: chosen.run,
    evaluations: memo.size,
  };
}
