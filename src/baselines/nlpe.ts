/**
 * Non-local pixel exchange (NLPE), after Mainberger et al. (SSVM 2011): in each iteration move one random
 * mask pixel to the non-mask pixel with the largest local error among a few random candidates, and keep the
 * exchange only if the global error (here Σ|u − f|, i.e. MAE) falls. Default 5 cycles of |mask| iterations.
 *
 * Speed: an exchange changes two pixels, so the reconstruction is updated locally by worklist relaxation
 * from them (`LocalInpainting`), the global error by the change on the touched pixels only, and a rejected
 * exchange is rolled back from a log. Every `checkEvery` iterations an accurate global solve (warm-started
 * multigrid CG) removes the drift of the local updates; if the accurate error of the mask is above the
 * previous checkpoint's, the mask goes back to that checkpoint, so the accurate error never increases.
 */
import { checkInteger, invalidParameter } from "../errors.ts";
import type { MaskSelector } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { createMask, targetCount } from "../image/types.ts";
import { createRng } from "../mask/rng.ts";
import type { Progress } from "../util/progress.ts";
import { silentProgress } from "../util/progress.ts";
import { LocalInpainting } from "./local.ts";
import { checkPsOptions, type PsOptions, runPs } from "./ps.ts";

export interface NlpeOptions {
  /** Number of cycles of |mask| iterations. Default 5 (the paper's setting). */
  cycles?: number;
  /** Random non-mask candidates per iteration, of which the one with the largest error is taken. Default 10. */
  candidates?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** Update threshold of the local relaxation, 0–255 scale. Default 0.02. */
  eps?: number;
  /** Iterations between accurate global solves. Default: min(|mask|, 1000). */
  checkEvery?: number;
  /** Relative residual of the checkpoint solves. Default 1e-6. */
  tolerance?: number;
  progress?: Progress;
}

export const NLPE_DEFAULTS = { cycles: 5, candidates: 10, eps: 0.02, tolerance: 1e-6 } as const;

export interface NlpeResult {
  mask: Mask;
  /** MAE of the accurate inpainting before and after. */
  maeBefore: number;
  maeAfter: number;
  iterations: number;
  accepted: number;
  /** Checkpoints at which the mask went back because the accurate error had grown. */
  reverts: number;
}

function checkNlpeOptions(options: NlpeOptions) {
  const cycles = options.cycles ?? NLPE_DEFAULTS.cycles;
  const candidates = options.candidates ?? NLPE_DEFAULTS.candidates;
  const eps = options.eps ?? NLPE_DEFAULTS.eps;
  const tolerance = options.tolerance ?? NLPE_DEFAULTS.tolerance;
  const seed = options.seed ?? 0;
  if (!(cycles >= 0 && Number.isFinite(cycles))) throw invalidParameter("cycles", "a number ≥ 0", cycles);
  checkInteger(candidates, "candidates", 1, 1e6);
  if (!(eps > 0 && Number.isFinite(eps))) throw invalidParameter("eps", "a positive number", eps);
  if (!(tolerance > 0 && tolerance < 1)) throw invalidParameter("tolerance", "a number in (0, 1)", tolerance);
  checkInteger(seed, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (options.checkEvery !== undefined) checkInteger(options.checkEvery, "checkEvery", 1, 1e9);
  return { cycles, candidates, eps, tolerance, seed };
}

/**
 * NLPE on an engine that holds a mask and its reconstruction (any accuracy). Leaves the engine with the
 * improved mask and its accurate reconstruction.
 */
export function runNlpe(
  engine: LocalInpainting,
  options: NlpeOptions = {},
): Omit<NlpeResult, "mask" | "maeBefore"> & { maeBefore: number } {
  const { cycles, candidates, eps, tolerance, seed } = checkNlpeOptions(options);
  const progress = options.progress ?? silentProgress;
  const { width: w, height: h, channels: C } = engine;
  const n = w * h;
  const original = engine.original();
  const maeBefore = engine.resync(tolerance, original);
  // Lists of known and unknown pixels (padded indices) with their positions.
  const known: number[] = [];
  const unknown: number[] = [];
  const pos = new Int32Array(engine.mask.length);
  const rebuildLists = () => {
    known.length = 0;
    unknown.length = 0;
    for (let i = 0; i < n; i++) {
      const p = engine.padded(i);
      if (engine.mask[p] === 1) {
        pos[p] = known.length;
        known.push(p);
      } else {
        pos[p] = unknown.length;
        unknown.push(p);
      }
    }
  };
  rebuildLists();
  const total = Math.round(cycles * known.length);
  const checkEvery = options.checkEvery ?? Math.max(1, Math.min(known.length, 1000));
  if (unknown.length === 0 || total === 0) {
    return { maeAfter: maeBefore, maeBefore, iterations: 0, accepted: 0, reverts: 0 };
  }
  const rng = createRng(seed ^ 0x5bd1e995);
  let checkpointMask = engine.maskData();
  let checkpointSolution = engine.imageData();
  let checkpointMae = maeBefore;
  let accepted = 0;
  let reverts = 0;
  const err = engine.err;
  for (let it = 0; it < total; it++) {
    const ka = rng.int(known.length);
    const a = known[ka];
    let b = -1;
    let best = -1;
    for (let t = 0; t < candidates; t++) {
      const cand = unknown[rng.int(unknown.length)];
      if (err[cand] > best) {
        best = err[cand];
        b = cand;
      }
    }
    const before = engine.total;
    engine.beginTrial();
    engine.setUnknown(a);
    engine.setKnown(b);
    engine.relax(eps);
    if (engine.total < before - 1e-9) {
      engine.commit();
      accepted++;
      const kb = pos[b];
      known[ka] = b;
      pos[b] = ka;
      unknown[kb] = a;
      pos[a] = kb;
    } else {
      engine.rollback();
      engine.setFlag(a, true);
      engine.setFlag(b, false);
    }
    if ((it + 1) % checkEvery === 0 || it + 1 === total) {
      const mae = engine.resync(tolerance, original);
      if (mae > checkpointMae) {
        // The local updates misjudged: go back to the last checkpoint.
        reverts++;
        for (let i = 0; i < n; i++) engine.setFlag(engine.padded(i), checkpointMask[i] === 1);
        engine.loadSolution(checkpointSolution);
        rebuildLists();
      } else {
        checkpointMask = engine.maskData();
        checkpointSolution = engine.imageData();
        checkpointMae = mae;
      }
    }
    if ((it & 63) === 63) {
      progress.update(
        it + 1,
        total,
        `density ${(known.length / n).toFixed(4)}  MAE ${(engine.total / (n * C)).toFixed(2)}`,
      );
    }
  }
  return { maeBefore, maeAfter: checkpointMae, iterations: total, accepted, reverts };
}

/** NLPE of a given mask. */
export function nlpe(image: Image, mask: Mask, options: NlpeOptions = {}): NlpeResult {
  checkNlpeOptions(options);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw invalidParameter("mask", `a ${image.width}×${image.height} mask`, `${mask.width}×${mask.height}`);
  }
  const engine = new LocalInpainting(image);
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) count++;
    else engine.setFlag(engine.padded(i), false);
  }
  if (count === 0) throw invalidParameter("mask", "a mask with at least one pixel", "an empty mask");
  const result = runNlpe(engine, options);
  options.progress?.done();
  return { mask: createMask(image.width, image.height, engine.maskData()), ...result };
}

export interface PsNlpeOptions extends NlpeOptions {
  /** PS's options (p, q, eps); seed and progress are shared. */
  ps?: Omit<PsOptions, "seed" | "progress">;
}

/** PS followed by NLPE, on one engine (NLPE continues from PS's reconstruction). */
export function psNlpe(image: Image, density: number, options: PsNlpeOptions = {}): NlpeResult {
  checkNlpeOptions(options);
  const psOptions = { ...options.ps, seed: options.seed, progress: options.progress };
  checkPsOptions(psOptions);
  const engine = new LocalInpainting(image);
  runPs(engine, targetCount(image.width * image.height, density), psOptions);
  const result = runNlpe(engine, options);
  options.progress?.done();
  return { mask: createMask(image.width, image.height, engine.maskData()), ...result };
}

export function psNlpeSelector(options: PsNlpeOptions = {}): MaskSelector {
  checkNlpeOptions(options);
  return {
    id: "ps+nlpe",
    async select(image: Image, density: number): Promise<Mask> {
      return psNlpe(image, density, options).mask;
    },
  };
}

/**
 * Any selector's mask improved by NLPE (with homogeneous diffusion as the measure of error): the `refine`
 * step of the encoder. Why it helps the gan backend too: the inpainting generator corrects diffusion, so a
 * mask that is better for diffusion is better for it (`npm run bench -- nets --quality --refine C` measures
 * both), and NLPE's gain is the exact placement of single pixels, which the mask generator does not learn.
 */
export function refinedSelector(inner: MaskSelector, options: NlpeOptions): MaskSelector {
  checkNlpeOptions(options);
  return {
    id: `${inner.id}+nlpe`,
    async select(image: Image, density: number): Promise<Mask> {
      const mask = await inner.select(image, density);
      if ((options.cycles ?? NLPE_DEFAULTS.cycles) === 0) return mask;
      return nlpe(image, mask, options).mask;
    },
  };
}
