/**
 * Homogeneous diffusion inpainting, the diffusion backend's entry points: `inpaintDiffusion` (an image and a
 * mask in, the inpainted image out), `solveWithSystem` (the same with an already built system, for callers
 * that solve many right-hand sides with one mask: PS, NLPE, tonal optimisation, the gan backend's
 * differentiable diffusion op) and the backend's `Inpainter`.
 *
 * The solver itself: diffusion-system.ts (the linear system of one mask), cg.ts (multigrid-preconditioned
 * conjugate gradients, to a relative residual of 1e-6 by default, the paper's setting), multigrid.ts (the
 * preconditioner), kernel-binding.ts and wasm-kernels.ts (the WebAssembly twins of the stencil loops).
 */
import { checkInteger, invalidParameter } from "../errors.ts";
import type { Inpainter, InpaintOptions, StoredLevels } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { createImage } from "../image/types.ts";
import { inpaintFloat32 } from "./cg-f32.ts";
import { DiffusionSystem, fromPadded, toPadded } from "./diffusion-system.ts";
import { releaseLargeArena } from "./wasm-kernels.ts";

export interface DiffusionOptions {
  /** Relative residual at which the solver stops. Default 1e-6. */
  tolerance?: number;
  /** Safety limit on CG iterations per channel. Default 500. */
  maxIterations?: number;
  /**
   * Colour images with more pixels than this are solved one channel at a time (the same values, a third of
   * the solver's vectors). Default PER_CHANNEL_PIXELS.
   */
  perChannelPixels?: number;
  /**
   * "float32": solve on the float32 solver (cg-f32.ts: colour images jointly in SIMD groups, or per channel
   * above perChannelPixels, the same values either way), as streams of format version 7 decode; "float64" (the
   * default) on the float64 solver. A warm start (`initial`) always takes the float64 solver.
   */
  arithmetic?: "float64" | "float32";
}

export interface DiffusionSolveOptions extends DiffusionOptions {
  /** Warm start: a previous solution (any values; only the unknown pixels are read). */
  initial?: Image;
  /**
   * Write the solution into `known` itself and return it (the caller has no further use for its values): no
   * copy of the image, 144 MB at 12 MP. Default false.
   */
  inPlace?: boolean;
}

export interface DiffusionResult {
  image: Image;
  /** CG iterations per channel. */
  iterations: number[];
  /** Final relative residual per channel. */
  residuals: number[];
}

export function checkInpaintingInput(known: Image, mask: Mask): void {
  if (mask.width !== known.width || mask.height !== known.height) {
    throw invalidParameter(
      "mask",
      `a ${known.width}×${known.height} mask`,
      `${mask.width}×${mask.height}` as unknown as string,
    );
  }
  if (known.width < 1 || known.height < 1) {
    throw invalidParameter("image", "an image of at least 1×1 pixels", `${known.width}×${known.height}`);
  }
}

/**
 * Colour images with more pixels than this are solved one channel at a time: one single-channel system
 * and three solves instead of one three-channel system, so the solver's vectors (six of them, 8 bytes per
 * value, plus their WebAssembly copies) take a third of the memory — 0.6 GB instead of 1.7 GB at 12 MP.
 * Below it, all channels at once (one pass over the coefficients per sweep serves three channels).
 */
export const PER_CHANNEL_PIXELS = 1 << 21;

/** Homogeneous diffusion inpainting of `known` from the pixels where `mask` is 1. */
export function inpaintDiffusion(
  known: Image,
  mask: Mask,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  checkInpaintingInput(known, mask);
  const perChannel =
    known.channels === 3 && known.width * known.height > (options.perChannelPixels ?? PER_CHANNEL_PIXELS);
  if (options.arithmetic === "float32" && !options.initial)
    return inpaintInFloat32(known, mask, options, perChannel);
  if (perChannel) return inpaintPerChannel(known, mask, options);
  const { width: w, height: h, channels: C } = known;
  // built in the kernels' memory where it can be: no copy in and out (DiffusionSystem.solve)
  // five vectors: b, x and CG's r, z, p (solveWithSystem's solve uses b as q)
  const system = DiffusionSystem.resident(w, h, mask.data, C, 5) ?? new DiffusionSystem(w, h, mask.data, C);
  const result = solveWithSystem(system, known, options);
  releaseLargeArena();
  return result;
}

/** inpaintDiffusion on the float32 solver (cg-f32.ts): the same values jointly or per channel. */
function inpaintInFloat32(
  known: Image,
  mask: Mask,
  options: DiffusionSolveOptions,
  perChannel: boolean,
): DiffusionResult {
  const { tolerance, maxIterations } = solveLimits(options);
  const out = options.inPlace
    ? known
    : createImage(known.width, known.height, known.channels, new Float32Array(known.data));
  const { iterations, residuals } = inpaintFloat32(known, mask, out, tolerance, maxIterations, perChannel);
  releaseLargeArena();
  return { image: out, iterations, residuals };
}

/** The solve's stopping rule from the options (defaults 1e-6 relative residual, 500 iterations), checked. */
function solveLimits(options: DiffusionSolveOptions): { tolerance: number; maxIterations: number } {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  if (!(tolerance > 0 && tolerance < 1)) throw invalidParameter("tolerance", "a number in (0, 1)", tolerance);
  checkInteger(maxIterations, "maxIterations", 1, 1e6);
  return { tolerance, maxIterations };
}

/**
 * inpaintDiffusion of a colour image as three single-channel solves with one system (PER_CHANNEL_PIXELS),
 * lean on memory: each solution goes straight from the solver's vector into the output, and the right-hand
 * side doubles as a work vector.
 */
export function inpaintPerChannel(
  known: Image,
  mask: Mask,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  const { tolerance, maxIterations } = solveLimits(options);
  const { width: w, height: h } = known;
  const n = w * h;
  // built in the WebAssembly kernels' memory where it can be: a copy there (DiffusionSystem.solve) would
  // double the solver's memory, so large systems would otherwise run on the slower TypeScript loops
  const system = DiffusionSystem.resident(w, h, mask.data, 1, 5) ?? new DiffusionSystem(w, h, mask.data, 1);
  const out = options.inPlace ? known : createImage(w, h, 3, new Float32Array(known.data));
  const iterations: number[] = [];
  const residuals: number[] = [];
  // one b and x for the three solves: fresh ones per channel would leave 200 MB of garbage per channel at
  // 12 MP for the collector to find
  const b = system.vector();
  const x = system.vector();
  for (let c = 0; c < 3; c++) {
    b.fill(0);
    x.fill(0);
    if (options.initial) {
      const plane = createImage(w, h, 1);
      for (let i = 0; i < n; i++) plane.data[i] = known.data[3 * i + c];
      system.rhs(toPadded(system, plane), b);
      const start = createImage(w, h, 1);
      for (let i = 0; i < n; i++) start.data[i] = options.initial.data[3 * i + c];
      toPadded(system, start, x);
    } else {
      // on the kernels (coldStart copies the channel into their memory): 0.7 s less of a 12 MP decode than
      // its loops over the interleaved image, the same values
      system.coldStart(known.data, 3, c, b, x);
    }
    const result = system.solve(b, x, tolerance, maxIterations, true);
    scatterChannel(x, system.stride, mask.data, out.data, w, h, c);
    iterations.push(result.iterations[0]);
    residuals.push(result.residuals[0]);
  }
  releaseLargeArena(); // the resident system is done with
  return { image: out, iterations, residuals };
}

/**
 * Channel c of a colour image from a one-channel padded solution: the unknown pixels of `out` (w × h × 3)
 * take x's values, the known ones stay. Locals only in the loop: at 12 MP it runs 36 million times.
 */
function scatterChannel(
  x: Float64Array,
  stride: number,
  mask: Uint8Array,
  out: Float32Array,
  w: number,
  h: number,
  c: number,
): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const from = (y + 1) * stride + 1;
    for (let xx = 0; xx < w; xx++) {
      if (mask[row + xx] === 0) out[3 * (row + xx) + c] = x[from + xx];
    }
  }
}

/** Solves every channel of `known` with an already built system (same mask, same channel count). */
export function solveWithSystem(
  system: DiffusionSystem,
  known: Image,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  const { tolerance, maxIterations } = solveLimits(options);
  const b = system.vector();
  const x = system.vector();
  if (options.initial) {
    system.rhs(toPadded(system, known), b);
    toPadded(system, options.initial, x);
  } else {
    system.coldStart(known.data, system.channels, 0, b, x);
  }
  // b is not read after the solve: it serves as a work vector (a resident system has room for five)
  const { iterations, residuals } = system.solve(b, x, tolerance, maxIterations, true);
  const out = options.inPlace
    ? known
    : createImage(known.width, known.height, known.channels, new Float32Array(known.data));
  fromPadded(system, x, out, true);
  return { image: out, iterations, residuals };
}

/** The `Inpainter` of the diffusion backend. */
export function diffusionInpainter(options: DiffusionOptions = {}): Inpainter {
  return {
    id: "diffusion",
    async inpaint(known: Image, mask: Mask, _stored?: StoredLevels, how?: InpaintOptions): Promise<Image> {
      return inpaintDiffusion(known, mask, { ...options, inPlace: how?.consumeKnown === true }).image;
    },
  };
}
