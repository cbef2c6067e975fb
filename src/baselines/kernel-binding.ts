/**
 * How a diffusion solve runs on the WebAssembly kernels (wasm-kernels.ts): `bindSolve` moves the arrays of a
 * solve (every level's coefficients and work vectors, the CG vectors, b and x) into the kernels' memory for
 * its duration, and sets `bound`; the stencil loops (multigrid.ts, cg.ts) then call their WebAssembly twins
 * on the byte offsets of those views. `unbindSolve` restores the levels' own arrays, so no view into the
 * kernels' memory outlives a solve (growing that memory detaches them). A resident system
 * (DiffusionSystem.resident) lives in that memory instead: `residentBytes` sizes it, `bindResident` switches
 * the kernels on for its solves, with nothing to copy.
 */
import { type Level, levelSizes } from "./multigrid.ts";
import type { DiffusionKernels, KernelArena } from "./wasm-kernels.ts";

/**
 * The WebAssembly kernels while a solve runs on them (solves are synchronous, so one at a time): every
 * kernel function then runs its WebAssembly twin on the byte offsets of its arguments, which are all views
 * into the kernels' memory; `results` views the sums they return.
 */
export let bound: { k: DiffusionKernels; results: Float64Array } | null = null;

/** The byte offset of a view into the kernels' memory. */
export function at(v: Float64Array | Float32Array | Uint8Array): number {
  return v.byteOffset;
}

/** Runs a WebAssembly sweep kernel on a bound level. */
export function sweepIn(
  f: DiffusionKernels["smooth_forward3"],
  level: Level,
  r: Float64Array,
  e: Float64Array,
): void {
  f(level.w, level.h, level.s, at(level.invDiag), at(level.wE), at(level.wS), at(r), at(e));
}

/** Sets the padding ring of a padded interleaved vector (w × h interior, C channels) to 0. */
function zeroRing(v: Float64Array, w: number, h: number, C: number): void {
  const rowLength = (w + 2) * C;
  v.fill(0, 0, rowLength);
  v.fill(0, (h + 1) * rowLength, (h + 2) * rowLength);
  for (let y = 1; y <= h; y++) {
    v.fill(0, y * rowLength, y * rowLength + C);
    v.fill(0, (y + 1) * rowLength - C, (y + 1) * rowLength);
  }
}

/** The vectors of a bound solve, in the kernels' memory: the CG work vectors r, z, p, q, then b and x. */
export interface BoundVectors {
  bufs: Float64Array[];
  io: [Float64Array, Float64Array];
}

/**
 * Bytes `bindSolve` lays out for `levels` and CG vectors of `length` values: the coefficients and work
 * vectors of every level, the CG vectors, b and x.
 */
export function solveBytes(levels: Level[], length: number): number {
  const f32Bytes = (n: number) => ((n * 4 + 7) >> 3) << 3;
  let bytes = 6 * 8 * length;
  for (const level of levels) {
    const size = (level.w + 2) * (level.h + 2);
    bytes += 4 * f32Bytes(size) + 8 * (level.r.length + level.e.length + level.t.length);
  }
  return bytes;
}

/**
 * Moves a solve's arrays into the kernels' memory (coefficients copied, work vectors with their padding
 * rings zeroed, as the kernels read them) and switches the kernel functions to WebAssembly. Null when the
 * memory cannot hold them (the TypeScript loops then do the solve).
 */
export function bindSolve(
  arena: KernelArena,
  levels: Level[],
  C: number,
  length: number,
): BoundVectors | null {
  if (!arena.reset(solveBytes(levels, length))) return null;
  const ringed = (n: number, level: Level) => {
    const v = arena.f64(n);
    zeroRing(v, level.w, level.h, C);
    return v;
  };
  for (const level of levels) {
    const own = {
      diag: level.diag,
      invDiag: level.invDiag,
      wE: level.wE,
      wS: level.wS,
      r: level.r,
      e: level.e,
      t: level.t,
    };
    level.own = own;
    for (const key of ["diag", "invDiag", "wE", "wS"] as const) {
      const v = arena.f32(own[key].length);
      v.set(own[key]);
      level[key] = v;
    }
    for (const key of ["r", "e", "t"] as const) {
      if (own[key].length > 0) level[key] = ringed(own[key].length, level);
    }
  }
  const fine = levels[0];
  const bufs = [0, 1, 2, 3].map(() => ringed(length, fine));
  const io: [Float64Array, Float64Array] = [arena.f64(length), arena.f64(length)];
  bound = { k: arena.k, results: arena.results() };
  return { bufs, io };
}

/**
 * Bytes a system of w × h pixels and C channels takes when it is built in the kernels' memory
 * (DiffusionSystem.resident): a copy of its mask, its levels as buildLevels lays them out (coefficients; the
 * coarse levels' work vectors) and `vectors` solver vectors of the finest grid.
 */
export function residentBytes(w: number, h: number, C: number, vectors: number): number {
  const sizes = levelSizes(w, h);
  let bytes = w * h + 8 + vectors * (8 * (w + 2) * (h + 2) * C + 8); // the mask's copy, the vectors
  for (const [l, [lw, lh]] of sizes.entries()) {
    const size = (lw + 2) * (lh + 2);
    const work = l > 0 ? 3 : sizes.length === 1 ? 1 : 0; // r, e, t (buildLevels)
    bytes += 4 * (4 * size + 8) + work * (8 * size * C + 8);
  }
  return bytes;
}

/** Switches the kernel functions to WebAssembly for a system that already lives in the arena's memory. */
export function bindResident(arena: KernelArena): void {
  bound = { k: arena.k, results: arena.results() };
}

/** Back to the levels' own arrays and the TypeScript loops. */
export function unbindSolve(levels: Level[]): void {
  bound = null;
  for (const level of levels) {
    if (level.own) Object.assign(level, level.own);
    level.own = undefined;
  }
}
