import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { MIN_WEIGHT_HASH_LENGTH } from "./codec/limits.ts";
import type { BackendId, StreamHeader } from "./codec/types.ts";
import { invalidParameter, MaskcodecError } from "./errors.ts";
import type { Inpainter, MaskSelector, TonalOptimiser } from "./image/seams.ts";

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
 * `--refine C` chooses another count.
 */
export const GAN_NLPE_CYCLES = 5;
export type MaskSelectorName = (typeof MASK_SELECTORS)[number];
export const BACKENDS: readonly BackendId[] = ["gan", "diffusion"];

export function parseBackend(value: string): BackendId {
  if (!(BACKENDS as readonly string[]).includes(value))
    throw invalidParameter("backend", "one of gan, diffusion", value);
  return value as BackendId;
}

export function parseMaskSelector(value: string): MaskSelectorName {
  if (!(MASK_SELECTORS as readonly string[]).includes(value)) {
    throw invalidParameter("mask", `one of ${MASK_SELECTORS.join(", ")}`, value);
  }
  return value as MaskSelectorName;
}

/** The mask selector a backend uses when none is named. */
export function defaultMaskSelector(backend: BackendId): MaskSelectorName {
  return backend === "gan" ? "gan" : "ps";
}

/** Folder of the shipped models. */
export const MODELS_DIR = join(import.meta.dirname, "..", "models");

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
 * The folder of the model a stream's header names: `root`/ID, where ID must be a plain name (no path
 * separators, no "..") of a folder that exists directly inside `root`. Anything else is refused, naming the
 * id: a stream must not make the decoder load files from elsewhere (`--model DIR` is the way to name
 * another folder).
 */
export function streamModelDir(modelId: string | undefined, root: string = MODELS_DIR): string {
  const shown = JSON.stringify(modelId ?? "");
  if (modelId === undefined || !STREAM_MODEL_ID.test(modelId) || modelId.includes("..")) {
    throw new MaskcodecError(
      `The stream names model ${shown}, which is not a model name (letters, digits, ".", "_", "-"); decode with --model DIR`,
      "ERR_MODEL_ID",
    );
  }
  const dir = join(root, modelId);
  if (dirname(dir) !== join(root) || !existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MaskcodecError(
      `The stream names model ${shown}, which is not in ${root}; decode with --model DIR`,
      "ERR_MODEL_ID",
    );
  }
  return dir;
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
   * 0 or absent: the selector's mask as it is.
   */
  refineCycles?: number;
  onProgress?: import("./util/progress.ts").Progress;
}

export async function encoderSetup(options: EncoderOptions): Promise<EncoderSetup> {
  if (options.backend === "diffusion" && options.mask === "gan") {
    // The gan mask with diffusion inpainting is a valid, interesting combination: mask from the network,
    // reconstruction by diffusion. It needs the network only on the encoder side.
  }
  const chosen = await selectorFor(options);
  const baselines = await import("./baselines/index.ts");
  const selector = options.refineCycles
    ? baselines.refinedSelector(chosen, {
        cycles: options.refineCycles,
        seed: options.seed,
        progress: options.onProgress,
      })
    : chosen;
  if (options.backend === "gan") {
    const { loadGanModel, defaultModelDir } = await import("./nets/gan-backend.ts");
    const model = await loadGanModel(options.model ?? defaultModelDir(options.density));
    return {
      selector,
      inpainter: model.inpainter(),
      modelId: model.id,
      weightHash: model.weightHash.slice(0, STREAM_HASH_HEX_DIGITS),
      tonal: options.tonal
        ? model.tonalOptimiser({ iterations: options.tonalSteps, progress: options.onProgress })
        : undefined,
    };
  }
  return {
    selector,
    inpainter: baselines.diffusionInpainter(),
    tonal: options.tonal ? baselines.tonalOptimiser() : undefined,
  };
}

async function selectorFor(options: EncoderOptions): Promise<MaskSelector> {
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
      const { loadGanModel, defaultModelDir } = await import("./nets/gan-backend.ts");
      const model = await loadGanModel(options.model ?? defaultModelDir(options.density));
      if (options.mask === "gan") return model.selector();
      return baselines.refinedSelector(model.selector(), {
        cycles: GAN_NLPE_CYCLES,
        seed: options.seed,
        progress: options.onProgress,
      });
    }
  }
}

/**
 * The inpainter a stream's header names. For "gan" the model is found by id directly inside models/
 * (streamModelDir), or given as `modelDir`, and its weights must hash to the header's weightHash (at least
 * STREAM_HASH_HEX_DIGITS digits of it): decoding with other weights would silently give a different image.
 */
export async function inpainterFor(header: StreamHeader, modelDir?: string): Promise<Inpainter> {
  if (header.backend === "diffusion") {
    const { diffusionInpainter } = await import("./baselines/index.ts");
    return diffusionInpainter();
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
  return model.inpainter();
}
