import { join } from "node:path";
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

/**
 * Largest image (pixels) for which the diffusion backend's default mask is PS. PS costs far more than
 * linear time in the image size (0.44 s on a 128×128 crop, 31 s on a 768×512 Kodak image, minutes beyond);
 * the analytic mask costs ~0.5 s at 768×512, grows linearly (about 16 s at 12 MP) and is within a few percent
 * of PS in MAE (13.27 vs 12.77 at 5 % on the BSDS500 crops, docs/notes/baselines.md). 2^18 pixels (512×512)
 * keeps PS where it finishes within seconds. `--mask ps` still asks for PS at any size.
 */
export const DEFAULT_PS_MAX_PIXELS = 1 << 18;

/** The mask selector a backend uses when none is named, for an image of `pixels` pixels. */
export function defaultMaskSelector(backend: BackendId, pixels = 0): MaskSelectorName {
  if (backend === "gan") return "gan";
  return pixels > DEFAULT_PS_MAX_PIXELS ? "analytic" : "ps";
}

/** Folder of the shipped models. */
export const MODELS_DIR = join(import.meta.dirname, "..", "models");

/**
 * The stream stores the first 64 bits of the weights' SHA-256: plenty to tell models apart, and 48 bytes
 * less per file than the full hash, which matters at 0.05 bpp on small images.
 */
export const STREAM_HASH_HEX_DIGITS = 16;

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
 * The inpainter a stream's header names. For "gan" the model is found by id under models/ (or given as
 * `modelDir`), and its weights must hash to the header's weightHash: decoding with other weights would
 * silently give a different image.
 */
export async function inpainterFor(header: StreamHeader, modelDir?: string): Promise<Inpainter> {
  if (header.backend === "diffusion") {
    const { diffusionInpainter } = await import("./baselines/index.ts");
    return diffusionInpainter();
  }
  const { loadGanModel } = await import("./nets/gan-backend.ts");
  const dir = modelDir ?? join(MODELS_DIR, header.modelId ?? "");
  const model = await loadGanModel(dir);
  if (header.weightHash && !model.weightHash.startsWith(header.weightHash)) {
    throw new MaskcodecError(
      `The stream was encoded with model ${header.modelId} (weights ${header.weightHash.slice(0, 12)}), but the weights in ${dir} hash to ${model.weightHash.slice(0, 12)}; decode with the matching model (--model DIR)`,
      "ERR_MODEL_MISMATCH",
    );
  }
  return model.inpainter();
}
