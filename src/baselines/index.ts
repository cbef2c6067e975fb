/**
 * The diffusion backend: homogeneous diffusion inpainting, mask selectors (grid, random, PS, PS+NLPE) and
 * tonal optimisation. Plain typed-array code, no tfjs.
 */
export { analyticScores, analyticSelector, analyticSigma, greyOf } from "../mask/analytic.ts";
export { densityMap, ditherScores } from "../mask/dither.ts";
export { createRng, type Rng } from "../mask/rng.ts";
export {
  type DiffusionOptions,
  type DiffusionResult,
  type DiffusionSolveOptions,
  diffusionInpainter,
  inpaintDiffusion,
} from "./diffusion.ts";
export { DiffusionSystem } from "./diffusion-system.ts";
export { LocalInpainting } from "./local.ts";
export {
  NLPE_DEFAULTS,
  type NlpeOptions,
  type NlpeResult,
  nlpe,
  type PsNlpeOptions,
  psNlpe,
  psNlpeSelector,
  refinedSelector,
} from "./nlpe.ts";
export { PS_DEFAULTS, type PsOptions, probabilisticSparsification, psSelector } from "./ps.ts";
export { gridMask, gridSelector, randomMask, randomSelector } from "./selectors.ts";
export { optimiseTonal, type TonalOptions, type TonalResult, tonalOptimiser } from "./tonal.ts";
