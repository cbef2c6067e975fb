import { MIN_WEIGHT_HASH_LENGTH } from "./codec/limits.ts";
import {
  diffusionDecodeArithmetic,
  diffusionDecoding,
  diffusionInputTolerance,
  FORMAT_VERSION,
  networkArithmetic,
} from "./codec/stream.ts";
import { BACKEND_CODES, type BackendId, type StreamHeader } from "./codec/types.ts";
import {
  DEFAULT_BACKEND,
  DEFAULT_MASK,
  DEFAULT_MASK_LARGE_DIFFUSION,
  DEFAULT_PS_MAX_PIXELS,
} from "./defaults.ts";
import { invalidParameter, MaskcodecError } from "./errors.ts";
import type { Inpainter, MaskSelector, TonalOptimiser } from "./image/seams.ts";
import { MODELS_DIR, registeredModelDir } from "./nets/registry.ts";

/**
 * Wiring: maps the names users type (backend, mask selector) and the names a stream's header carries to
 * implementations. The only module that knows both src/baselines and src/nets; both are imported lazily so
 * that the diffusion path never loads tfjs.
 */

export const MASK_SELECTORS = ["grid", "random", "analytic", "ps", "ps+nlpe", "gan", "gan+nlpe"] as const;

/**
 * NLPE cycles of the "gan+nlpe" selector: the mask generator's mask improved by non-local pixel exchange
 * (diffusion error), as many cycles as "ps+nlpe" runs. On the 100 BSDS500 test-dev crops (docs/notes/nets.md)
 * 5 cycles gave MAE 10.87 / 7.70 / 4.69 at 5 / 10 / 20 % (2 cycles 11.35 / 8.18 / 5.05, in 40 % of the time);
 * `--refine C` replaces the count.
 */
export const GAN_NLPE_CYCLES = 5;
export type MaskSelectorName = (typeof MASK_SELECTORS)[number];
/** The backends a user can name: the format's list (codec/types.ts), the default first. */
export const BACKENDS: readonly BackendId[] = [
  DEFAULT_BACKEND,
  ...BACKEND_CODES.filter((b) => b !== DEFAULT_BACKEND),
];

export function parseBackend(value: string): BackendId {
  if (!(BACKENDS as readonly string[]).includes(value))
    throw invalidParameter("backend", `one of ${BACKENDS.join(", ")}`, value);
  return value as BackendId;
}

export function parseMaskSelector(value: string): MaskSelectorName {
  if (!(MASK_SELECTORS as readonly string[]).includes(value)) {
    throw invalidParameter("mask", `one of ${MASK_SELECTORS.join(", ")}`, value);
  }
  return value as MaskSelectorName;
}

/** The mask selector a backend uses when none is named, for an image of `pixels` pixels. */
export function defaultMaskSelector(backend: BackendId, pixels = 0): MaskSelectorName {
  if (backend === "diffusion" && pixels > DEFAULT_PS_MAX_PIXELS) return DEFAULT_MASK_LARGE_DIFFUSION;
  return DEFAULT_MASK[backend];
}

export { MODELS_DIR };

/**
 * The stream stores the first 64 bits of the weights' SHA-256: plenty to tell models apart, and 48 bytes
 * less per file than the full hash, which matters at 0.05 bpp on small images. The parser refuses fewer
 * digits (MIN_WEIGHT_HASH_LENGTH), so every accepted stream is checked on at least these 64 bits.
 */
export const STREAM_HASH_HEX_DIGITS = MIN_WEIGHT_HASH_LENGTH;

/**
 * A model id as a stream may name it: a plain folder name (letters, digits, ".", "_", "-", starting with a
 * letter or digit, no ".."), so that a stream can only reach a folder directly inside MODELS_DIR.
 */
const STREAM_MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The folder of the model a stream's header names. The id must be a plain name (no path separators, no
 * "..": refused as ERR_MODEL_ID, naming the id) and a model of the registry (models/registry.json:
 * refused as ERR_MODEL_UNKNOWN otherwise), so a stream can never make the decoder load files from outside
 * models/; `--model DIR` is the way to name another folder.
 */
export function streamModelDir(modelId: string | undefined, root: string = MODELS_DIR): string {
  if (modelId === undefined || !STREAM_MODEL_ID.test(modelId) || modelId.includes("..")) {
    throw new MaskcodecError(
      `The stream names model ${JSON.stringify(modelId ?? "")}, which is not a model name (letters, digits, ".", "_", "-"); decode with --model DIR`,
      "ERR_MODEL_ID",
    );
  }
  return registeredModelDir(modelId, root);
}

/** Everything the encoder needs from a backend. */
export interface EncoderSetup {
  selector: MaskSelector;
  /** The inpainter the decoder will use, so the encoder can report the decoded quality. */
  inpainter: Inpainter;
  modelId?: string;
  weightHash?: string;
  tonal?: TonalOptimiser;
}

export interface EncoderOptions {
  backend: BackendId;
  mask: MaskSelectorName;
  density: number;
  seed: number;
  /** Model folder for the gan backend (default: the shipped model for the density). */
  model?: string;
  tonal?: boolean;
  /** Steps of the gan backend's tonal optimisation (default: its own, 20). */
  tonalSteps?: number;
  /**
   * Cycles of non-local pixel exchange (with diffusion as the error measure) applied to the selector's mask;
   * 0 or absent: the selector's mask as it is. With the "gan+nlpe" selector: its cycle count (default
   * GAN_NLPE_CYCLES), not more cycles on top.
   */
  refineCycles?: number;
  /** Worker threads for the networks' windows (window-pool.ts; the same stream for any number). */
  threads?: number;
  onProgress?: import("./util/progress.ts").Progress;
}

export async function encoderSetup(options: EncoderOptions): Promise<EncoderSetup> {
  // (Any selector goes with any backend: the gan mask with diffusion inpainting, say, needs the network only
  // on the encoder's side.)
  // the gan model is resolved and loaded once, for the mask generator and the inpainter alike
  const needsModel = options.backend === "gan" || options.mask === "gan" || options.mask === "gan+nlpe";
  const model = needsModel ? await ganModelFor(options) : undefined;
  const chosen = await selectorFor(options, model);
  const baselines = await import("./baselines/index.ts");
  // gan+nlpe is already the gan mask refined by NLPE: --refine sets its cycles (selectorFor) rather than
  // stacking more on top
  const selector =
    options.refineCycles && options.mask !== "gan+nlpe"
      ? baselines.refinedSelector(chosen, {
          cycles: options.refineCycles,
          seed: options.seed,
          progress: options.onProgress,
        })
      : chosen;
  if (options.backend === "gan" && model) {
    return {
      selector,
      // the decoder of the streams this build writes (--json's figures are the decoded image's)
      inpainter: await ganDecoder(model, FORMAT_VERSION, options.threads),
      modelId: model.id,
      weightHash: model.weightHash.slice(0, STREAM_HASH_HEX_DIGITS),
      tonal: options.tonal
        ? model.tonalOptimiser({ iterations: options.tonalSteps, progress: options.onProgress })
        : undefined,
    };
  }
  return {
    selector,
    // the decoder's solve for the streams this build writes (--json's figures are the decoded image's)
    inpainter: baselines.diffusionInpainter(diffusionDecoding(FORMAT_VERSION)),
    tonal: options.tonal ? baselines.tonalOptimiser() : undefined,
  };
}

/** The model folder given, else the registered default for the density, loaded (and cached) once. */
async function ganModelFor(options: EncoderOptions): Promise<import("./nets/gan-backend.ts").GanModel> {
  const { loadGanModel, defaultModelDir } = await import("./nets/gan-backend.ts");
  return loadGanModel(options.model ?? defaultModelDir(options.density));
}

async function selectorFor(
  options: EncoderOptions,
  model: import("./nets/gan-backend.ts").GanModel | undefined,
): Promise<MaskSelector> {
  const baselines = await import("./baselines/index.ts");
  switch (options.mask) {
    case "grid":
      return baselines.gridSelector();
    case "random":
      return baselines.randomSelector({ seed: options.seed });
    case "analytic":
      return baselines.analyticSelector();
    case "ps":
      return baselines.psSelector({ seed: options.seed, progress: options.onProgress });
    case "ps+nlpe":
      return baselines.psNlpeSelector({ seed: options.seed, progress: options.onProgress });
    case "gan":
    case "gan+nlpe": {
      if (!model) throw new Error("selectorFor: the gan mask needs its model");
      // in float32: with the 16-bit products the dithered masks came out slightly worse on BSDS500 test-dev
      // (docs/notes/nets.md, "Sixteen-bit convolutions"), and the mask generator is the encoder's alone
      const gan = model.selector(undefined, undefined, { threads: options.threads });
      if (options.mask === "gan") return gan;
      return baselines.refinedSelector(gan, {
        cycles: options.refineCycles || GAN_NLPE_CYCLES,
        seed: options.seed,
        progress: options.onProgress,
      });
    }
  }
}

/**
 * The inpainter a stream's header names. For "gan" the model is the registered one of that id
 * (streamModelDir), or the folder given as `modelDir`, and its weights must hash to the header's weightHash (at least
 * STREAM_HASH_HEX_DIGITS digits of it): decoding with other weights would silently give a different image.
 */
export async function inpainterFor(
  header: StreamHeader,
  modelDir?: string,
  options: { threads?: number } = {},
): Promise<Inpainter> {
  if (header.backend === "diffusion") {
    // the solver's own module, not the baselines' index (PS, NLPE and the selectors are encoder-side)
    const { diffusionInpainter } = await import("./baselines/diffusion.ts");
    // how far the solve goes is part of what the stream decodes to: its version says
    return diffusionInpainter(diffusionDecoding(header.version));
  }
  const { loadGanModel } = await import("./nets/gan-backend.ts");
  const hash = header.weightHash ?? "";
  if (hash.length < STREAM_HASH_HEX_DIGITS) {
    throw new MaskcodecError(
      `The stream's weight hash ${JSON.stringify(hash)} has fewer than ${STREAM_HASH_HEX_DIGITS} hex digits, too few to check the model`,
      "ERR_MODEL_MISMATCH",
    );
  }
  const dir = modelDir ?? streamModelDir(header.modelId);
  const model = await loadGanModel(dir);
  if (!model.weightHash.startsWith(hash.toLowerCase())) {
    throw new MaskcodecError(
      `The stream was encoded with model ${header.modelId} (weights ${hash.slice(0, 12)}), but the weights in ${dir} hash to ${model.weightHash.slice(0, 12)}; decode with the matching model (--model DIR)`,
      "ERR_MODEL_MISMATCH",
    );
  }
  return ganDecoder(model, header.version, options.threads);
}

/**
 * The gan inpainter of streams of `version`: the decoder's tiling, the networks' arithmetic and the
 * tolerance and arithmetic of their diffusion input are part of what a stream decodes to, so its version sets
 * them.
 */
async function ganDecoder(
  model: import("./nets/gan-backend.ts").GanModel,
  version: number,
  threads: number | undefined,
): Promise<Inpainter> {
  const { decoderTiling } = await import("./nets/tiling.ts");
  return model.inpainter(decoderTiling(version), {
    threads,
    arithmetic: networkArithmetic(version),
    diffusionTolerance: (windowPixels: number) => diffusionInputTolerance(version, windowPixels),
    diffusionArithmetic: diffusionDecodeArithmetic(version),
  });
}
