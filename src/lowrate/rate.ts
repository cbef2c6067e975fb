/**
 * Rate control for the low-rate mode: the best stream within a byte budget. The luma point budget is
 * searched (chroma gets a fixed fraction of it, the quantiser and root sizes are fixed by tuning), first
 * with the original values, whose sizes cost only a tree growth and the entropy coder, then with the
 * least-squares values the stream will carry, starting from the first search's answer. The stream is never
 * over the target; it lands within `tolerance` below it whenever the point budget is fine enough to.
 */
import { MaskcodecError } from "../errors.ts";
import type { Image } from "../image/types.ts";
import type { Progress } from "../util/progress.ts";
import { decodeLowrate, type LowrateEncoded, LowrateEncoder, type LowrateSettings } from "./codec.ts";
import { streamError } from "./error.ts";
import { searchBudget } from "./search.ts";

/**
 * Settings of the low-rate mode, tuned on BSDS500 train/val full-size photos (docs/lowrate.md):
 * 8 levels for luma and chroma (each over its plane's range), chroma at 9 % as many points as luma, root
 * cells of 32 pixels.
 */
export const LOWRATE_DEFAULTS = {
  lumaLevels: 8,
  chromaLevels: 8,
  chromaRatio: 0.09,
  rootSize: 32,
} as const;

/**
 * The quantisers the rate control chooses from: the tuned one for textured photos at low rates, finer ones
 * for smooth content or higher rates, where the quantisation error, not the inpainting, dominates (a smooth
 * sky is worse with more points at coarse levels).
 */
export const LEVEL_CANDIDATES: ReadonlyArray<readonly [number, number]> = [
  [8, 8],
  [16, 12],
  [32, 16],
];

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
  /** Quantisers to choose from, [luma levels, chroma levels] (default LEVEL_CANDIDATES). */
  levels?: ReadonlyArray<readonly [number, number]>;
  /** Progress: a step per quantiser's search, then one for the final streams. */
  onProgress?: Progress;
  /** Threads for the least squares' windows of a large image (LowrateEncoder; default 1, same streams). */
  threads?: number;
  /**
   * Decode the chosen stream into `encoded.decoded` (default true). A caller that only writes the stream,
   * or decodes it later with less held in memory (the CLI at 12 MP), passes false.
   */
  decode?: boolean;
}

export interface RateControlResult {
  encoded: LowrateEncoded;
  settings: LowrateSettings;
  /**
   * Streams written: during the searches with original values and with estimated ones, and the final
   * streams (full values, closed loop).
   */
  evaluations: { plain: number; tonal: number; final: number };
}

/** The size of a stream with estimated values over that with the original values, as last measured. */
interface SizeHint {
  ratio?: number;
}

/**
 * The settings with the most known pixels whose stream is at most `maxBytes`, for one tuning (levels and
 * root size fixed), measured with estimated least-squares values (`estimate`); larger root cells when even
 * the coarsest tree of the tuned size is over the budget. Undefined when no root size fits; `smallest` then
 * holds the smallest stream seen.
 */
function fitBudget(
  encoder: LowrateEncoder,
  base: LowrateTuning,
  maxBytes: number,
  tolerance: number,
  hint: SizeHint,
): { settings: LowrateSettings; plain: number; tonal: number } | { smallest: number } {
  const { width, height } = encoder.image;
  const pixels = width * height;
  let smallest = Number.POSITIVE_INFINITY;
  for (let root = base.rootSize; ; root *= 2) {
    const tuning = { ...base, rootSize: root };
    const plainSize = (k: number) => encoder.encode({ ...settingsFor(k, tuning), tonal: false }).bytes.length;
    const estimateSize = (k: number) =>
      encoder.encode({ ...settingsFor(k, tuning), tonal: true, estimate: true }).bytes.length;
    const plain = searchBudget(plainSize, maxBytes, 1, pixels, { tolerance });
    if (!plain) {
      smallest = Math.min(smallest, plainSize(1));
      if (root >= Math.max(width, height)) return { smallest };
      continue;
    }
    // The optimised values change the size by a few percent, nearly in proportion: measure the ratio at
    // the first answer (or take the last quantiser's), search the cheap sizes again for the target scaled by
    // it, and repeat.
    let tonal: { count: number; size: number } | undefined;
    let tonalEvaluations = 0;
    let plainEvaluations = plain.evaluations;
    let guess = plain;
    if (hint.ratio !== undefined) {
      const scaled = searchBudget(plainSize, Math.floor(maxBytes / hint.ratio), 1, pixels, {
        tolerance: tolerance / 2,
        start: Math.round(plain.count / hint.ratio),
      });
      if (scaled) {
        plainEvaluations += scaled.evaluations;
        guess = scaled;
      }
    }
    for (let round = 0; round < 4; round++) {
      const size = estimateSize(guess.count);
      tonalEvaluations++;
      const scale = size / guess.size;
      hint.ratio = scale;
      if (size <= maxBytes && (!tonal || size > tonal.size)) tonal = { count: guess.count, size };
      if (tonal && tonal.size >= (1 - tolerance) * maxBytes) break;
      const next = searchBudget(plainSize, Math.floor(maxBytes / scale), 1, pixels, {
        tolerance: tolerance / 2,
        start: Math.round(guess.count / scale),
      });
      if (!next || next.count === guess.count) break;
      plainEvaluations += next.evaluations;
      guess = next;
    }
    // Without optimised values that fit, the original values at the first answer do (never over the target).
    const settings = tonal
      ? { ...settingsFor(tonal.count, tuning), tonal: true, estimate: true }
      : { ...settingsFor(plain.count, tuning), tonal: false };
    return { settings, plain: plainEvaluations, tonal: tonalEvaluations };
  }
}

/**
 * What the final streams share: the size of a final stream over its estimate's at the same budget (about
 * 2 %: least-squares values spread more, closed loop adds 0–1.5 %; measured by each first try for the
 * next), and how many were written.
 */
interface FinalState {
  ratio: number;
  streams: number;
}

/** A stream with its settings and squared error. */
interface Candidate {
  settings: LowrateSettings;
  encoded: LowrateEncoded;
  error: number;
}

/**
 * The final stream for the point budget of `estimated` (a fitting stream with estimated values): full
 * least-squares values, quantised in closed loop (codec.ts). Such a stream is a little longer than the
 * estimate at the same budget (`ratio`, shared between calls and updated from each first try), so the budget
 * is scaled to aim at the middle of [(1 - tolerance) · maxBytes, maxBytes], and rescaled in proportion until
 * the size lands there (at most three tries). Of the fitting streams seen, and the estimate itself (which
 * fits), the one with the lowest error is kept.
 */
function finalStream(
  encoder: LowrateEncoder,
  estimated: Candidate,
  maxBytes: number,
  tolerance: number,
  state: FinalState,
): Candidate {
  let best = estimated;
  const aim = (1 - tolerance / 2) * maxBytes;
  const estimatedSize = estimated.encoded.bytes.length;
  let scale = aim / (estimatedSize * state.ratio);
  let s: LowrateSettings = { ...estimated.settings, estimate: false, closedLoop: true };
  for (let attempt = 0; attempt < 3; attempt++) {
    s = {
      ...s,
      lumaPoints: Math.max(1, Math.floor(s.lumaPoints * scale)),
      chromaPoints: Math.max(1, Math.floor(s.chromaPoints * scale)),
    };
    // Decoded only once it fits: a stream over the target is never used.
    const encoded = encoder.encode(s);
    state.streams++;
    const size = encoded.bytes.length;
    // sizes grow nearly in proportion to the budget
    if (attempt === 0) state.ratio = (size * estimated.settings.lumaPoints) / (estimatedSize * s.lumaPoints);
    if (size <= maxBytes) {
      const error = streamError(encoder.image, encoded.bytes, encoder.tiling);
      if (error < best.error) best = { settings: s, encoded, error };
      if (size >= (1 - tolerance) * maxBytes) break;
    }
    scale = aim / size;
  }
  return best;
}

/**
 * Quantisers whose estimated stream's squared error is within this fraction of the best estimate's get a
 * final stream too. Closed-loop quantisation helps coarse quantisers more than fine ones, so the estimates
 * (plainly rounded) can favour the finer of two close quantisers: on six BSDS500 val photos at 0.1, 0.15 and
 * 0.25 bpp the quantiser that won after closed loop had an estimate within 4.8 % of the best one in all 18
 * cases, and taking the best estimate's quantiser alone would have lost 0.07–0.39 dB in 3 of them. About
 * 1.7 final streams per target at 10 %. A margin of 5 % would save 10–17 % of the time and chose the same
 * streams on six other val photos × 3 rates, but lost 0.33 dB on kodim07 at 0.15 bpp (one of six Kodak
 * images: its winner, 8/8, had an estimate 5–10 % behind).
 */
const FINAL_MARGIN = 0.1;

/**
 * The best low-rate stream of at most `maxBytes`. For each quantiser of `levels` (default LEVEL_CANDIDATES),
 * the largest point budget that fits, measured with estimated least-squares values; the quantisers whose
 * estimated streams decode with an error within FINAL_MARGIN of the lowest get full values and closed-loop
 * quantisation (finalStream), and the one with the lowest error is kept.
 */
export function encodeToSize(
  image: Image,
  maxBytes: number,
  options: RateControlOptions = {},
): RateControlResult {
  const chosen = options.encoder
    ? rateControl(image, maxBytes, options.encoder, options)
    : withEncoder(new LowrateEncoder(image, { threads: options.threads }), (encoder) =>
        rateControl(image, maxBytes, encoder, options),
      );
  // The chosen stream decoded once, after the encoder's planes and trees and the other candidates are let
  // go (when they are ours): at 12 MP they and a decoder's solver would not fit in the memory bound together.
  const decoded = options.decode === false ? undefined : decodeLowrate(chosen.encoded.bytes).image;
  return { ...chosen, encoded: { ...chosen.encoded, decoded } };
}

/** f(encoder), then the encoder's threads ended (and nothing here holds the encoder any more). */
function withEncoder<T>(encoder: LowrateEncoder, f: (encoder: LowrateEncoder) => T): T {
  try {
    return f(encoder);
  } finally {
    encoder.close();
  }
}

/** The rate control's searches and final streams (encodeToSize), without the decode of the chosen one. */
function rateControl(
  image: Image,
  maxBytes: number,
  encoder: LowrateEncoder,
  options: RateControlOptions,
): RateControlResult {
  const base = options.tuning ?? { ...LOWRATE_DEFAULTS };
  const tolerance = options.tolerance ?? 0.05;
  const candidates = options.levels ?? LEVEL_CANDIDATES;
  const progress = options.onProgress;
  const steps = candidates.length + 1; // a search per quantiser, then the final streams
  const estimates: Candidate[] = [];
  let smallest = Number.POSITIVE_INFINITY;
  const evaluations = { plain: 0, tonal: 0 };
  const hint: SizeHint = {};
  for (const [i, [lumaLevels, chromaLevels]] of candidates.entries()) {
    progress?.update(i, steps, `quantiser ${lumaLevels}/${chromaLevels}`);
    const fit = fitBudget(encoder, { ...base, lumaLevels, chromaLevels }, maxBytes, tolerance, hint);
    if ("smallest" in fit) {
      smallest = Math.min(smallest, fit.smallest);
      continue;
    }
    evaluations.plain += fit.plain;
    evaluations.tonal += fit.tonal;
    const encoded = encoder.encode(fit.settings);
    estimates.push({
      settings: fit.settings,
      encoded,
      error: streamError(image, encoded.bytes, encoder.tiling),
    });
  }
  if (estimates.length === 0) {
    throw new MaskcodecError(
      `A target of ${maxBytes} bytes is below the smallest stream for this image (${smallest} bytes)`,
      "ERR_TARGET_TOO_SMALL",
    );
  }
  estimates.sort((a, b) => a.error - b.error);
  const finalists = estimates.filter((e) => e.error <= (1 + FINAL_MARGIN) * estimates[0].error);
  let best = estimates[0];
  const state: FinalState = { ratio: 1.02, streams: 0 };
  const names = finalists.map((e) => `${e.settings.lumaLevels}/${e.settings.chromaLevels}`);
  progress?.update(candidates.length, steps, `final values ${names.join(", ")}`);
  for (const estimate of finalists) {
    const final = estimate.settings.tonal
      ? finalStream(encoder, estimate, maxBytes, tolerance, state)
      : estimate;
    if (final.error < best.error) best = final;
  }
  progress?.update(steps, steps);
  return {
    encoded: best.encoded,
    settings: best.settings,
    evaluations: { ...evaluations, final: state.streams },
  };
}
