import type { BackendId } from "./codec/types.ts";

/**
 * Every default of the encoder that is not part of the format, in one place: the library API
 * (ENCODE_DEFAULTS in src/api.ts), the CLI and the rd toolkit read these. The format-level defaults (colour
 * transform and quantiser levels) live beside the codec: codec.ts defaultColour and defaultQuantiser.
 */

export const DEFAULT_BACKEND: BackendId = "gan";
/** The mask selector of each backend when none is named. */
export const DEFAULT_MASK = { gan: "gan", diffusion: "ps" } as const satisfies Record<BackendId, string>;
/** The diffusion mask selectors a sweep (`maskcodec rd`) or a comparison (`maskcodec compare`) runs by default. */
export const DEFAULT_SWEEP_DIFFUSION_MASKS = ["grid", "random", "analytic"] as const;
/** Seed of every random choice (random masks, PS, NLPE). */
export const DEFAULT_SEED = 1;
/** NLPE cycles applied after the selector (`--refine`). */
export const DEFAULT_REFINE_CYCLES = 0;
/** Steps of the gan backend's tonal optimisation (most of the gain comes in the first 10). */
export const DEFAULT_GAN_TONAL_STEPS = 20;
