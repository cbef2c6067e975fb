/**
 * Local updates of a diffusion inpainting when a few mask pixels change — the engine that makes PS and NLPE
 * fast. Changing one mask pixel perturbs the solution only near it (the influence of a pixel decays quickly
 * past the surrounding known pixels), so instead of solving the whole image again, a worklist Gauss–Seidel
 * relaxation starts at the changed pixels and spreads only while the updates exceed a threshold `eps`
 * (0–255 scale). Every change can be recorded and rolled back (NLPE's rejected exchanges), and the total
 * absolute error Σ|u − f| is kept up to date pixel by pixel, so an exchange's effect on the global error is
 * known from the pixels it touched.
 *
 * The result after relaxing is an approximation; callers resynchronise with an accurate global solve
 * (`loadSolution`) now and then and at the end.
 */
import type { Image } from "../image/types.ts";
import { createImage } from "../image/types.ts";
import { solveWithSystem } from "./diffusion.ts";
import { DiffusionSystem } from "./diffusion-system.ts";

export class LocalInpainting {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Padded row stride. */
  readonly stride: number;
  /** Original values (padded, interleaved). */
  readonly f: Float64Array;
  /** Current reconstruction (padded, interleaved); equals f on the mask. */
  readonly u: Float64Array;
  /** Padded: 1 known, 0 unknown, 2 outside the image. */
  readonly mask: Uint8Array;
  /** Per padded pixel: Σ_c |u − f|. */
  readonly err: Float64Array;
  /** Σ err over the image. */
  total = 0;
  /** Number of pixel updates done by `relax` (work counter for benchmarks). */
  updates = 0;
  private readonly invDeg: Float64Array;
  private readonly queue: Int32Array;
  private readonly inQueue: Uint8Array;
  private head = 0;
  private count = 0;
  private recording = false;
  private trial = 1;
  private readonly stamp: Int32Array;
  private logIdx: Int32Array = new Int32Array(1024);
  private logU: Float64Array = new Float64Array(1024 * 3);
  private logErr: Float64Array = new Float64Array(1024);
  private logLength = 0;
  private savedTotal = 0;

  /** Starts from the full mask (u = f everywhere, error 0). */
  constructor(image: Image) {
    const { width: w, height: h, channels: C } = image;
    this.width = w;
    this.height = h;
    this.channels = C;
    const s = w + 2;
    this.stride = s;
    const size = s * (h + 2);
    this.f = new Float64Array(size * C);
    this.mask = new Uint8Array(size).fill(2);
    this.invDeg = new Float64Array(size);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y + 1) * s + x + 1;
        this.mask[p] = 1;
        const deg = (x > 0 ? 1 : 0) + (x < w - 1 ? 1 : 0) + (y > 0 ? 1 : 0) + (y < h - 1 ? 1 : 0);
        this.invDeg[p] = deg > 0 ? 1 / deg : 0;
        for (let c = 0; c < C; c++) this.f[p * C + c] = image.data[(y * w + x) * C + c];
      }
    }
    this.u = new Float64Array(this.f);
    this.err = new Float64Array(size);
    this.queue = new Int32Array(size);
    this.inQueue = new Uint8Array(size);
    this.stamp = new Int32Array(size);
  }

  /** Padded index of pixel i = y·width + x. */
  padded(i: number): number {
    const y = Math.floor(i / this.width);
    return (y + 1) * this.stride + (i - y * this.width) + 1;
  }

  /** Unpadded index of padded pixel p. */
  unpadded(p: number): number {
    const y = Math.floor(p / this.stride) - 1;
    return y * this.width + (p - (y + 1) * this.stride) - 1;
  }

  private record(p: number): void {
    if (!this.recording || this.stamp[p] === this.trial) return;
    this.stamp[p] = this.trial;
    const C = this.channels;
    if (this.logLength === this.logIdx.length) {
      const n = this.logIdx.length * 2;
      const idx = new Int32Array(n);
      idx.set(this.logIdx);
      const u = new Float64Array(n * C);
      u.set(this.logU.subarray(0, this.logLength * C));
      const e = new Float64Array(n);
      e.set(this.logErr);
      this.logIdx = idx;
      this.logU = u;
      this.logErr = e;
    }
    if (this.logU.length < this.logIdx.length * C) {
      const u = new Float64Array(this.logIdx.length * C);
      u.set(this.logU.subarray(0, this.logLength * C));
      this.logU = u;
    }
    const k = this.logLength++;
    this.logIdx[k] = p;
    this.logErr[k] = this.err[p];
    for (let c = 0; c < C; c++) this.logU[k * C + c] = this.u[p * C + c];
  }

  private push(p: number): void {
    if (this.inQueue[p] || this.mask[p] !== 0) return;
    this.inQueue[p] = 1;
    const cap = this.queue.length;
    this.queue[(this.head + this.count) % cap] = p;
    this.count++;
  }

  /** Makes padded pixel p known (value f) and queues its unknown neighbours. */
  setKnown(p: number): void {
    if (this.mask[p] !== 0) return;
    this.record(p);
    this.mask[p] = 1;
    const C = this.channels;
    for (let c = 0; c < C; c++) this.u[p * C + c] = this.f[p * C + c];
    this.total -= this.err[p];
    this.err[p] = 0;
    const s = this.stride;
    this.push(p - 1);
    this.push(p + 1);
    this.push(p - s);
    this.push(p + s);
  }

  /** Makes padded pixel p unknown and queues it. */
  setUnknown(p: number): void {
    if (this.mask[p] !== 1) return;
    this.record(p);
    this.mask[p] = 0;
    this.push(p);
  }

  /**
   * Worklist Gauss–Seidel: relaxes queued unknowns; a pixel whose update exceeds `eps` in some channel
   * queues its unknown neighbours. Ends when the queue is empty.
   */
  relax(eps: number): void {
    const C = this.channels;
    const s = this.stride;
    const sC = s * C;
    const { u, f, err, mask, invDeg, queue, inQueue, stamp } = this;
    const cap = queue.length;
    const recording = this.recording;
    const trial = this.trial;
    let total = this.total;
    let updates = 0;
    let head = this.head;
    let count = this.count;
    while (count > 0) {
      const p = queue[head];
      head = head + 1 === cap ? 0 : head + 1;
      count--;
      inQueue[p] = 0;
      if (mask[p] !== 0) continue;
      if (recording && stamp[p] !== trial) this.record(p);
      updates++;
      const id = invDeg[p];
      let maxd = 0;
      let e = 0;
      if (C === 3) {
        const q = 3 * p;
        const n0 = id * (u[q - 3] + u[q + 3] + u[q - sC] + u[q + sC]);
        const n1 = id * (u[q - 2] + u[q + 4] + u[q + 1 - sC] + u[q + 1 + sC]);
        const n2 = id * (u[q - 1] + u[q + 5] + u[q + 2 - sC] + u[q + 2 + sC]);
        maxd = Math.max(Math.abs(n0 - u[q]), Math.abs(n1 - u[q + 1]), Math.abs(n2 - u[q + 2]));
        u[q] = n0;
        u[q + 1] = n1;
        u[q + 2] = n2;
        e = Math.abs(n0 - f[q]) + Math.abs(n1 - f[q + 1]) + Math.abs(n2 - f[q + 2]);
      } else {
        const q0 = p * C;
        for (let q = q0; q < q0 + C; q++) {
          const nv = id * (u[q - C] + u[q + C] + u[q - sC] + u[q + sC]);
          const d = Math.abs(nv - u[q]);
          if (d > maxd) maxd = d;
          u[q] = nv;
          e += Math.abs(nv - f[q]);
        }
      }
      total += e - err[p];
      err[p] = e;
      if (maxd > eps) {
        // Queue the unknown neighbours that are not queued yet.
        for (let k = 0; k < 4; k++) {
          const nb = k === 0 ? p - 1 : k === 1 ? p + 1 : k === 2 ? p - s : p + s;
          if (inQueue[nb] === 0 && mask[nb] === 0) {
            inQueue[nb] = 1;
            let at = head + count;
            if (at >= cap) at -= cap;
            queue[at] = nb;
            count++;
          }
        }
      }
    }
    this.head = head;
    this.count = count;
    this.total = total;
    this.updates += updates;
  }

  /** Starts recording changes so that `rollback` can undo them. */
  beginTrial(): void {
    this.recording = true;
    this.trial++;
    this.logLength = 0;
    this.savedTotal = this.total;
  }

  /** Keeps the changes since `beginTrial`. */
  commit(): void {
    this.recording = false;
  }

  /** Undoes every change since `beginTrial` (values, errors and mask flags). */
  rollback(): void {
    const C = this.channels;
    for (let k = this.logLength - 1; k >= 0; k--) {
      const p = this.logIdx[k];
      this.err[p] = this.logErr[k];
      for (let c = 0; c < C; c++) this.u[p * C + c] = this.logU[k * C + c];
    }
    this.total = this.savedTotal;
    this.recording = false;
    this.logLength = 0;
    // Mask flags are restored by the caller (it knows which pixels it flipped); clear the queue.
    while (this.count > 0) {
      this.inQueue[this.queue[this.head]] = 0;
      this.head = (this.head + 1) % this.queue.length;
      this.count--;
    }
  }

  /** Forces a mask flag without touching values (used to undo flips after `rollback`). */
  setFlag(p: number, known: boolean): void {
    this.mask[p] = known ? 1 : 0;
  }

  /** The mask as an unpadded 0/1 array. */
  maskData(): Uint8Array {
    const { width: w, height: h, stride: s } = this;
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[y * w + x] = this.mask[(y + 1) * s + x + 1] === 1 ? 1 : 0;
    }
    return out;
  }

  /** The current reconstruction as an Image-layout array. */
  imageData(): Float32Array {
    const { width: w, height: h, stride: s, channels: C } = this;
    const out = new Float32Array(w * h * C);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y + 1) * s + x + 1;
        for (let c = 0; c < C; c++) out[(y * w + x) * C + c] = this.u[p * C + c];
      }
    }
    return out;
  }

  /** The original image (Image layout). */
  original(): Image {
    const { width: w, height: h, stride: s, channels: C } = this;
    const out = new Float32Array(w * h * C);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y + 1) * s + x + 1;
        for (let c = 0; c < C; c++) out[(y * w + x) * C + c] = this.f[p * C + c];
      }
    }
    return createImage(w, h, C as 1 | 3, out);
  }

  /**
   * Global correction: solves the diffusion problem of the current mask with multigrid-preconditioned CG,
   * warm-started from the current reconstruction, to `tolerance`, and loads the result. Returns the MAE.
   */
  resync(tolerance: number, original: Image = this.original()): number {
    const { width: w, height: h, channels: C } = this;
    const system = new DiffusionSystem(w, h, this.maskData(), C);
    const initial = createImage(w, h, C as 1 | 3, this.imageData());
    const result = solveWithSystem(system, original, { tolerance, initial });
    this.loadSolution(result.image.data);
    return this.total / (w * h * C);
  }

  /**
   * Replaces the values at unknown pixels by an accurate solution (Image layout) and recomputes the errors
   * and the total from scratch.
   */
  loadSolution(data: Float32Array): void {
    const { width: w, height: h, stride: s, channels: C, u, f, err, mask } = this;
    let total = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y + 1) * s + x + 1;
        let e = 0;
        for (let c = 0; c < C; c++) {
          const q = p * C + c;
          if (mask[p] === 0) u[q] = data[(y * w + x) * C + c];
          else u[q] = f[q];
          e += Math.abs(u[q] - f[q]);
        }
        err[p] = e;
        total += e;
      }
    }
    this.total = total;
  }
}
