/**
 * Rate control for the low-rate mode: the best stream within a byte budget. The luma point budget is
 * searched (chroma gets a fixed fraction of it, the quantiser and root sizes are fixed by tuning), first
 * with the original values, whose sizes cost only a tree growth and the entropy coder, then with the
 * least-squares values the stream will carry, starting from the first search's answer. The stream is never
 * over the target; it lands within `tolerance` below it whenever the point budget is fine enough to.
 */
import { MaskcodecError } from "../errors.ts";
import type { Image } from "../image/types.ts";
import { type LowrateEncoded, LowrateEncoder, type LowrateSettings } from "./codec.ts";
import { searchBudget } from "./search.ts";

/**
 * Settings of the low-rate mode, tuned on BSDS500 train/val full-size photos (docs/lowrate.md):
 * 12 levels for luma and chroma, chroma at 1/8 as many points as luma, root cells of 32 pixels.
 */
export const LOWRATE_DEFAULTS = {
  lumaLevels: 12,
  chromaLevels: 12,
  chromaRatio: 0.125,
  rootSize: 32,
} as const;

export type LowrateTuning = { -readonly [K in keyof typeof LOWRATE_DEFAULTS]: number };

/** Settings for a luma point budget under a tuning (chroma: the tuning's fraction, at least 1). */
export function settingsFor(lumaPoints: number, tuning: LowrateTuning = LOWRATE_DEFAULTS): LowrateSettings {
  return {
    lumaPoints,
    chromaPoints: Math.max(1, Math.round(lumaPoints * tuning.chromaRatio)),
    lumaLevels: tuning.lumaLevels,
    chromaLevels: tuning.chromaLevels,
    lumaRoot: tuning.rootSize,
    chromaRoot: tuning.rootSize,
  };
}

export interface RateControlOptions {
  tuning?: LowrateTuning;
  /** Accepted shortfall below the target, as a fraction. Default 0.05. */
  tolerance?: number;
  /** An encoder already prepared for this image (its trees and values are reused). */
  encoder?: LowrateEncoder;
}

export interface RateControlResult {
  encoded: LowrateEncoded;
  settings: LowrateSettings;
  /** Streams written during the search (with original values, then with optimised ones). */
  evaluations: { plain: number; tonal: number };
}

/** The low-rate stream with the most known pixels whose size is at most `maxBytes`. */
export function encodeToSize(
  image: Image,
  maxBytes: number,
  options: RateControlOptions = {},
): RateControlResult {
  const base = options.tuning ?? { ...LOWRATE_DEFAULTS };
  const tolerance = options.tolerance ?? 0.05;
  const encoder = options.encoder ?? new LowrateEncoder(image);
  const pixels = image.width * image.height;
  let smallest = Number.POSITIVE_INFINITY;
  // Larger root cells when even the coarsest tree of the tuned size is over the budget (tiny targets).
  for (let root = base.rootSize; ; root *= 2) {
    const tuning = { ...base, rootSize: root };
    const sizeAt = (tonal: boolean) => (k: number) =>
      encoder.encode({ ...settingsFor(k, tuning), tonal }).bytes.length;
    const plain = searchBudget(sizeAt(false), maxBytes, 1, pixels, { tolerance });
    if (!plain) {
      smallest = Math.min(smallest, encoder.encode({ ...settingsFor(1, tuning), tonal: false }).bytes.length);
      if (root >= Math.max(image.width, image.height)) break;
      continue;
    }
    // The optimised values change the size by a few percent, nearly in proportion: measure the ratio at
    // the first answer, search the cheap sizes again for the target scaled by it, and repeat.
    let tonal: { count: number; size: number } | undefined;
    let tonalEvaluations = 0;
    let scale = 1;
    let plainEvaluations = plain.evaluations;
    let guess = plain;
    for (let round = 0; round < 4; round++) {
      const size = sizeAt(true)(guess.count);
      tonalEvaluations++;
      if (size <= maxBytes && (!tonal || size > tonal.size)) tonal = { count: guess.count, size };
      if (tonal && tonal.size >= (1 - tolerance) * maxBytes) break;
      scale = size / guess.size;
      const next = searchBudget(sizeAt(false), Math.floor(maxBytes / scale), 1, pixels, {
        tolerance: tolerance / 2,
        start: Math.round(guess.count / scale),
      });
      if (!next || next.count === guess.count) break;
      plainEvaluations += next.evaluations;
      guess = next;
    }
    const chosen = tonal ? { k: tonal.count, tonal: true } : { k: plain.count, tonal: false };
    const settings = { ...settingsFor(chosen.k, tuning), tonal: chosen.tonal };
    return {
      encoded: encoder.encode(settings, { decode: true }),
      settings,
      evaluations: { plain: plainEvaluations, tonal: tonalEvaluations },
    };
  }
  throw new MaskcodecError(
    `A target of ${maxBytes} bytes is below the smallest stream for this image (${smallest} bytes)`,
    "ERR_TARGET_TOO_SMALL",
  );
}
