/**
 * Homogeneous diffusion inpainting as a linear system: the Laplace equation Δu = 0 on the unknown pixels, the
 * known pixels as Dirichlet data, reflecting (Neumann) image boundaries, the 5-point stencil. `DiffusionSystem`
 * assembles the operator of one mask and solves it by multigrid-preconditioned conjugate gradients (cg.ts,
 * multigrid.ts), on the WebAssembly kernels when they are available and the system fits their memory
 * (kernel-binding.ts), else on the TypeScript loops, which compute the same values (MASKCODEC_WASM=0 forces
 * those).
 */
import { invalidParameter, MaskcodecError } from "../errors.ts";
import type { Image } from "../image/types.ts";
import { applyDot, conjugateGradients } from "./cg.ts";
import { at, bindResident, bindSolve, residentBytes, solveBytes, unbindSolve } from "./kernel-binding.ts";
import {
  buildLevels,
  finishLevel,
  HEAP,
  type Level,
  type LevelMemory,
  newLevel,
  residualOf,
} from "./multigrid.ts";
import { type KernelArena, kernelArena } from "./wasm-kernels.ts";

/**
 * Largest system (bytes of its WebAssembly copy, see solveBytes) that `solve` copies to the WebAssembly
 * kernels: about 6 MP for one channel, 2.5 MP for three. Larger ones run on the TypeScript loops (slower)
 * rather than double their memory. A system built in the kernels' memory (DiffusionSystem.resident, what
 * the decoder's inpainting uses) has no copy and no such limit.
 */
const WASM_SOLVE_MAX_BYTES = 512 * 2 ** 20;

/**
 * Vectors of the finest grid a resident system can hand out and solve with by default: b, x and CG's r, z, p,
 * q. One fewer (`resident`'s `vectors`) suffices for solves that use b as q (scratchRhs).
 */
const RESIDENT_VECTORS = 6;

/**
 * The linear system of one mask, reusable for every channel and every right-hand side (PS, NLPE and tonal
 * optimisation solve many with the same mask). Vectors are padded grids ((w+2)·(h+2) pixels, a ring of
 * zeros around the image) with `channels` values per pixel, interleaved.
 */
export class DiffusionSystem {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Padded row stride in pixels. */
  readonly stride: number;
  /** Padded vector length in values: (w+2)·(h+2)·channels. */
  readonly length: number;
  /** 1 where the pixel is known (unpadded, as the mask). */
  readonly mask: Uint8Array;
  readonly unknownCount: number;
  private readonly levels: Level[];
  /** CG work vectors r, z, p, q of solves on the TypeScript loops (allocated on first use). */
  private bufs: Float64Array[] | undefined;
  /** A resident system's memory (see `resident`), and the layout of it that holds this system. */
  private readonly arena: KernelArena | undefined;
  private readonly generation: number;
  private vectorsOut = 0;
  /** How many vectors a resident system has room for (`resident`). */
  private room = RESIDENT_VECTORS;
  /** A resident system's copies of its mask and (coldStart) of the image, in the kernels' memory. */
  private maskCopy: Uint8Array | undefined;
  private imageCopy: Float32Array | undefined;

  /**
   * A system built in the WebAssembly kernels' memory and solved there, with none of the copying in and out
   * that `solve` does otherwise: less time, half the memory, and so the largest images solved on the kernels
   * too (inpaintDiffusion). Same values as any other system of the mask. Null where the kernels are
   * unavailable or their memory cannot hold it. The system and the vectors it hands out (`vector`) live
   * until the next solve of another system, which may reuse that memory: build it for one sequence of solves
   * (a refused solve says so, rather than computing with overwritten arrays). `vectors`: room for that many
   * vectors (RESIDENT_VECTORS; five where every solve uses b as q).
   */
  static resident(
    width: number,
    height: number,
    mask: Uint8Array,
    channels = 1,
    vectors = RESIDENT_VECTORS,
  ): DiffusionSystem | null {
    // and room for the image's copy (coldStart)
    const bytes = residentBytes(width, height, channels, vectors) + 4 * width * height * channels + 8;
    const arena = kernelArena(bytes);
    if (!arena?.reset(bytes)) return null;
    const system = new DiffusionSystem(width, height, mask, channels, arena);
    system.room = vectors;
    return system;
  }

  /** `arena`: build in the kernels' memory (see `resident`, which sets the memory up). */
  constructor(width: number, height: number, mask: Uint8Array, channels = 1, arena?: KernelArena) {
    if (channels !== 1 && channels !== 3) throw invalidParameter("channels", "1 or 3", channels);
    this.width = width;
    this.height = height;
    this.channels = channels;
    this.stride = width + 2;
    this.length = (width + 2) * (height + 2) * channels;
    this.mask = mask;
    let known = 0;
    for (let i = 0; i < mask.length; i++) known += mask[i] ? 1 : 0;
    if (known === 0) {
      throw new MaskcodecError("Diffusion inpainting needs at least one known pixel", "ERR_EMPTY_MASK");
    }
    this.unknownCount = width * height - known;
    this.arena = arena;
    this.generation = arena?.generation ?? 0;
    const { levels, maskCopy } = assembleLevels(width, height, mask, channels, arena);
    this.levels = levels;
    this.maskCopy = maskCopy;
  }

  /**
   * A zeroed padded vector for this system's solves (in the kernels' memory for a resident system, which
   * has room for `resident`'s `vectors` of them, the CG work vectors included).
   */
  vector(): Float64Array {
    if (!this.arena) return new Float64Array(this.length);
    if (++this.vectorsOut > this.room) {
      throw new Error("A resident DiffusionSystem has handed out all the vectors it has room for");
    }
    return this.arena.f64(this.length, true);
  }

  /** Padded pixel index of (x, y); multiply by channels for the vector offset. */
  index(x: number, y: number): number {
    return (y + 1) * this.stride + x + 1;
  }

  /** out = A x on the unknowns (0 elsewhere). */
  apply(x: Float64Array, out: Float64Array): void {
    applyDot(this.levels[0], this.channels, x, out);
  }

  /**
   * Right-hand side b from padded known values (read only where the mask is set): for an unknown pixel, the
   * sum of its known neighbours' values.
   */
  rhs(known: Float64Array, out: Float64Array): void {
    const { width: w, height: h, stride: s, mask, channels: C } = this;
    out.fill(0);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (mask[i]) continue;
        const q = ((y + 1) * s + x + 1) * C;
        for (let c = 0; c < C; c++) {
          let v = 0;
          if (x > 0 && mask[i - 1]) v += known[q - C + c];
          if (x < w - 1 && mask[i + 1]) v += known[q + C + c];
          if (y > 0 && mask[i - w]) v += known[q - s * C + c];
          if (y < h - 1 && mask[i + w]) v += known[q + s * C + c];
          out[q + c] = v;
        }
      }
    }
  }

  /**
   * The right-hand side and the starting guess of a cold solve in one pass over the image (instead of a
   * padded copy of it, rhs and a separate guess: a few percent of a 768×512 decode): b as `rhs` makes it, x
   * the mean of the known pixels on the unknowns. The system's C channels of pixel i are
   * data[i · step + first …]: the image's own channels, or one channel of a colour image solved per channel
   * (step 3), read in place. A resident system's own vectors and an image of its own layout take the
   * kernels' twin of the loops (the same values; in a fresh process these loops run before V8 has
   * optimised them).
   */
  coldStart(data: Float32Array, step: number, first: number, b: Float64Array, x: Float64Array): void {
    const { width: w, height: h, stride: s, mask, channels: C, arena } = this;
    const own = (v: Float64Array) => v.buffer === arena?.memory.buffer;
    // On the kernels when resident: the image (or, for a one-channel system, one channel of an interleaved
    // image, as inpaintPerChannel asks) copied into the arena first; the same values as the loops below.
    if (arena && this.maskCopy && (C === 1 || (step === C && first === 0)) && own(b) && own(x)) {
      const copy = this.imageCopy ?? arena.f32(w * h * C);
      this.imageCopy = copy;
      if (step === C) copy.set(data.subarray(first, first + w * h * C));
      else for (let i = 0, j = first; i < w * h; i++, j += step) copy[i] = data[j];
      arena.k.cold_start(w, h, C, at(this.maskCopy), at(copy), at(b), at(x));
      return;
    }
    const mean = new Float64Array(C);
    let n = 0;
    for (let i = 0; i < w * h; i++) {
      if (!mask[i]) continue;
      for (let c = 0; c < C; c++) mean[c] += data[i * step + first + c];
      n++;
    }
    for (let c = 0; c < C; c++) mean[c] /= n;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const i = y * w + xx;
        if (mask[i]) continue;
        const q = ((y + 1) * s + xx + 1) * C;
        const west = xx > 0 && mask[i - 1] !== 0;
        const east = xx < w - 1 && mask[i + 1] !== 0;
        const north = y > 0 && mask[i - w] !== 0;
        const south = y < h - 1 && mask[i + w] !== 0;
        for (let c = 0; c < C; c++) {
          let v = 0;
          if (west) v += data[(i - 1) * step + first + c];
          if (east) v += data[(i + 1) * step + first + c];
          if (north) v += data[(i - w) * step + first + c];
          if (south) v += data[(i + w) * step + first + c];
          b[q + c] = v;
          x[q + c] = mean[c];
        }
      }
    }
  }

  /**
   * Solves A x = b by preconditioned CG, all channels at once (one set of CG scalars per channel, a channel
   * stops moving once it has converged). `b` must be 0 on known pixels (as `rhs` makes it). `x` holds the
   * initial guess on the unknowns and receives the solution; its entries at known pixels and on the ring are
   * set to 0. Returns the iterations and the final relative residual per channel.
   *
   * `scratchRhs`: the caller no longer needs b, so a solve on the TypeScript loops or of a resident system
   * may use it as a work vector once the initial residual is formed (one vector less: 100 MB at 12 MP).
   */
  solve(
    b: Float64Array,
    x: Float64Array,
    tolerance = 1e-6,
    maxIterations = 500,
    scratchRhs = false,
  ): { iterations: number[]; residuals: number[] } {
    // Large solves stay on the TypeScript loops: binding copies the whole system into the kernels' memory,
    // which doubles the solver's footprint and, WebAssembly memory never shrinking, keeps it for the rest of
    // the process (see WASM_SOLVE_MAX_BYTES).
    const { levels, channels: C } = this;
    if (this.arena) return this.solveResident(this.arena, b, x, tolerance, maxIterations, scratchRhs);
    const bytes = solveBytes(levels, this.length);
    const arena = bytes <= WASM_SOLVE_MAX_BYTES ? kernelArena(bytes) : null;
    const bound = arena ? bindSolve(arena, levels, C, this.length) : null;
    if (!bound) {
      this.bufs ??= [];
      return conjugateGradients(levels, C, this.bufs, b, x, tolerance, maxIterations, scratchRhs);
    }
    // a bound solve works on vectors in the kernels' memory; any left from a solve on the TypeScript loops go
    this.bufs = undefined;
    try {
      const [bw, xw] = bound.io;
      bw.set(b);
      xw.set(x);
      const result = conjugateGradients(levels, C, bound.bufs, bw, xw, tolerance, maxIterations);
      x.set(xw);
      return result;
    } finally {
      unbindSolve(levels);
    }
  }

  /** solve() of a resident system: b and x must be its own vectors (`vector`). */
  private solveResident(
    arena: KernelArena,
    b: Float64Array,
    x: Float64Array,
    tolerance: number,
    maxIterations: number,
    scratchRhs: boolean,
  ): { iterations: number[]; residuals: number[] } {
    if (arena.generation !== this.generation) {
      throw new Error(
        "This resident DiffusionSystem's memory has been reused by another solve; build it anew",
      );
    }
    if (b.buffer !== arena.memory.buffer || x.buffer !== arena.memory.buffer) {
      throw new Error("A resident DiffusionSystem solves with its own vectors (vector())");
    }
    // the CG work vectors, zeroed (their padding rings must be) and kept for the next solve
    this.bufs ??= [];
    while (this.bufs.length < (scratchRhs ? 3 : 4)) this.bufs.push(this.vector());
    bindResident(arena);
    try {
      return conjugateGradients(
        this.levels,
        this.channels,
        this.bufs,
        b,
        x,
        tolerance,
        maxIterations,
        scratchRhs,
      );
    } finally {
      unbindSolve(this.levels);
    }
  }

  /** Relative residual ‖b − Ax‖ / ‖b‖ per channel, computed afresh (for tests and checks). */
  residual(b: Float64Array, x: Float64Array): number[] {
    const C = this.channels;
    const q = new Float64Array(this.length);
    residualOf(this.levels[0], C, x, b, q);
    const rr = new Float64Array(C);
    const bb = new Float64Array(C);
    for (let i = 0; i < q.length; i++) {
      rr[i % C] += q[i] * q[i];
      bb[i % C] += b[i] * b[i];
    }
    return Array.from(rr, (v, c) => (bb[c] === 0 ? Math.sqrt(v) : Math.sqrt(v / bb[c])));
  }
}

/**
 * The multigrid hierarchy of a mask's system (finest level first), with the work vectors of `channels`
 * interleaved channels on the coarse levels (0: none, for a solver that brings its own, cg-f32.ts). With an
 * arena, built in the kernels' memory by their twins of the loops below (the same values: in a fresh process
 * these loops run before V8 has optimised them, a few percent of a 768×512 decode), the mask copied there too.
 */
export function assembleLevels(
  width: number,
  height: number,
  mask: Uint8Array,
  channels: number,
  arena?: KernelArena,
): { levels: Level[]; maskCopy?: Uint8Array } {
  const memory: LevelMemory = arena ? residentMemory(arena) : HEAP;
  const fine = newLevel(width, height, memory);
  let maskCopy: Uint8Array | undefined;
  if (arena) {
    maskCopy = arena.u8(mask.length);
    maskCopy.set(mask);
    arena.k.assemble(width, height, at(maskCopy), at(fine.diag), at(fine.invDiag), at(fine.wE), at(fine.wS));
  } else {
    const s = fine.s;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (mask[i]) continue;
        const p = (y + 1) * s + x + 1;
        fine.diag[p] = (x > 0 ? 1 : 0) + (x < width - 1 ? 1 : 0) + (y > 0 ? 1 : 0) + (y < height - 1 ? 1 : 0);
        if (x < width - 1 && !mask[i + 1]) fine.wE[p] = 1;
        if (y < height - 1 && !mask[i + width]) fine.wS[p] = 1;
      }
    }
    finishLevel(fine);
  }
  return { levels: buildLevels(fine, channels, memory), maskCopy };
}

/** Arrays of a resident system: zeroed, in the kernels' memory, coarse levels filled by the kernels. */
function residentMemory(arena: KernelArena): LevelMemory {
  return {
    f32: (n) => arena.f32(n, true),
    f64: (n) => arena.f64(n, true),
    coarsen: (f, c) =>
      arena.k.coarsen(
        f.w,
        f.h,
        at(f.diag),
        at(f.wE),
        at(f.wS),
        at(c.diag),
        at(c.invDiag),
        at(c.wE),
        at(c.wS),
      ),
  };
}

/** Copies an Image into a padded interleaved vector of a system (values at every pixel). */
export function toPadded(system: DiffusionSystem, image: Image, out?: Float64Array): Float64Array {
  const { width: w, height: h, stride: s, channels: C } = system;
  const v = out ?? new Float64Array(system.length);
  const d = image.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = ((y + 1) * s + x + 1) * C;
      const i = (y * w + x) * C;
      for (let c = 0; c < C; c++) v[q + c] = d[i + c];
    }
  }
  return v;
}

/** Writes a padded vector into an Image; `onlyUnknown` leaves the mask's pixels alone. */
export function fromPadded(
  system: DiffusionSystem,
  v: Float64Array,
  image: Image,
  onlyUnknown = false,
): void {
  const { width: w, height: h, stride: s, channels: C, mask } = system;
  const d = image.data;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const from = ((y + 1) * s + 1) * C;
    if (C === 3) {
      for (let x = 0; x < w; x++) {
        if (onlyUnknown && mask[row + x] !== 0) continue;
        const q = from + 3 * x;
        const i = 3 * (row + x);
        d[i] = v[q];
        d[i + 1] = v[q + 1];
        d[i + 2] = v[q + 2];
      }
    } else {
      for (let x = 0; x < w; x++) {
        if (onlyUnknown && mask[row + x] !== 0) continue;
        for (let c = 0; c < C; c++) d[(row + x) * C + c] = v[from + x * C + c];
      }
    }
  }
}
