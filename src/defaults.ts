import type { BackendId } from "./codec/types.ts";

/**
 * Every default of the encoder that is not part of the format, in one place: the library API
 * (ENCODE_DEFAULTS in src/api.ts), the CLI and the rd toolkit read these. The format-level defaults (colour
 * transform and quantiser levels) live beside the codec: codec.ts defaultColour and defaultQuantiser.
 */

export const DEFAULT_BACKEND: BackendId = "gan";
/** The mask selector of each backend when none is named (diffusion: for images up to DEFAULT_PS_MAX_PIXELS). */
export const DEFAULT_MASK = { gan: "gan", diffusion: "ps" } as const satisfies Record<BackendId, string>;
/**
 * Largest image (pixels) for which the diffusion backend's default mask is PS. PS costs far more than
 * linear time in the image size (0.44 s on a 128×128 crop, 31 s on a 768×512 Kodak image, minutes beyond);
 * the analytic mask costs ~0.5 s at 768×512, grows linearly (about 16 s at 12 MP) and is within a few percent
 * of PS in MAE (13.27 vs 12.77 at 5 % on the BSDS500 crops, docs/notes/baselines.md). 2^18 pixels (512×512)
 * keeps PS where it finishes within seconds. `--mask ps` still asks for PS at any size.
 */
export const DEFAULT_PS_MAX_PIXELS = 1 << 18;
/** The diffusion backend's default mask above DEFAULT_PS_MAX_PIXELS. */
export const DEFAULT_MASK_LARGE_DIFFUSION = "analytic";
/** The diffusion mask selectors a sweep (`maskcodec rd`) or a comparison (`maskcodec compare`) runs by default. */
export const DEFAULT_SWEEP_DIFFUSION_MASKS = ["grid", "random", "analytic"] as const;
/** Seed of every random choice (random masks, PS, NLPE). */
export const DEFAULT_SEED = 1;
/** NLPE cycles applied after the selector (`--refine`). */
export const DEFAULT_REFINE_CYCLES = 0;
/** Steps of the gan backend's tonal optimisation (most of the gain comes in the first 10). */
export const DEFAULT_GAN_TONAL_STEPS = 20;
