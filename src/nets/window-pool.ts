import type { Worker } from "node:worker_threads";
import { MaskcodecError } from "../errors.ts";
import type { StoredLevels } from "../image/seams.ts";
import type { NetworkArithmetic } from "./wasm-conv.ts";

/**
 * Windows of the tiled networks (tiling.ts) run on worker threads, each with its own tfjs backend and copy
 * of the model.
 *
 * A window's result depends only on its inputs (the window of the image and mask, reflect-padded, the noise
 * of its place in the whole padded image, the density and the stored levels): the networks run the same
 * code on one thread in every worker, so the image put together from the windows is the same bit for bit
 * whatever the number of threads (tested in test/nets/window-pool.test.ts). Only wall time and memory
 * change: each worker holds the memory of one window's networks (about 0.4 GB of tfjs heap for version 6's
 * 1280 × 1280 decoder windows, docs/notes/photos.md); the diffusion input of an inpainting window is solved by
 * the thread that makes the job (InpaintJob.interpolation), so no worker needs the solver's memory.
 */

/** Where a window sits in the noise maps of the whole padded image (gan-backend.ts, windowNoise). */
export interface NoiseWindow {
  seed: number;
  paddedWidth: number;
  x0: number;
  y0: number;
}

/** One window of the inpainting generator: its output g (RGB in [0, 1], width × height). */
export interface InpaintJob {
  kind: "inpaint";
  /** The known values (RGB in [0, 1]) and the mask of the window, reflect-padded to width × height. */
  f: Float32Array;
  b: Float32Array;
  width: number;
  height: number;
  noise: NoiseWindow;
  density: number;
  stored?: StoredLevels;
  arithmetic: NetworkArithmetic;
  /**
   * The window's diffusion input (RGB in [0, 1], width × height), for models that take one: solved by whoever
   * makes the job (diffusion-op.ts diffusionInput), so the thread running the networks needs no solver memory.
   */
  interpolation?: Float32Array;
}

/** One window of the mask generator: its logits z (width × height). */
export interface ScoresJob {
  kind: "scores";
  /** The image window (RGB in [0, 1]), reflect-padded to width × height. */
  f: Float32Array;
  /** The window of the analytic mask prior, when the model takes one. */
  analytic?: Float32Array;
  width: number;
  height: number;
  noise: NoiseWindow;
  density: number;
  arithmetic: NetworkArithmetic;
}

export type WindowJob = InpaintJob | ScoresJob;

/** Messages of the worker (window-worker.ts). */
export type WorkerReply =
  | { type: "ready" }
  | { type: "result"; id: number; values: Float32Array }
  | { type: "error"; id: number; message: string; backend: boolean }
  | { type: "failed"; message: string };

/** What the worker is told when it starts. */
export interface WorkerSetup {
  modelDir: string;
}

/**
 * The worker thread's entry: the compiled window-worker.js next to this file in the package (dist/), or,
 * when the sources run directly (tests, tsx), window-worker-boot.mjs, which registers tsx in the thread
 * before loading window-worker.ts (a worker does not inherit a loader registered in the main thread).
 */
const WORKER_ENTRY = import.meta.url.endsWith(".js")
  ? new URL("./window-worker.js", import.meta.url)
  : new URL("./window-worker-boot.mjs", import.meta.url);

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 200);
}

interface Pending {
  resolve(values: Float32Array): void;
  reject(error: Error): void;
}

/** A pool of `threads` workers running windows of one model; `close()` ends them. */
export class WindowPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  /** Set by close(): the workers' exits from then on are the pool's own doing. */
  private closing = false;

  private constructor(readonly threads: number) {}

  /** Starts the workers and waits until each has loaded the model. */
  static async start(modelDir: string, threads: number): Promise<WindowPool> {
    const { Worker } = await import("node:worker_threads");
    const pool = new WindowPool(threads);
    const setup: WorkerSetup = { modelDir };
    const ready = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_ENTRY, { workerData: setup });
      pool.workers.push(worker);
      return new Promise<void>((resolve, reject) => {
        worker.on("message", (message: WorkerReply) => {
          if (message.type === "ready") {
            pool.release(worker);
            resolve();
          } else pool.receive(message, reject);
        });
        // a worker that dies (out of memory, say) ends the run with one line, as a failure of the backend
        worker.on("error", (error) =>
          pool.fail(
            new MaskcodecError(`A window worker thread failed: ${firstLine(error)}`, "ERR_BACKEND"),
            reject,
          ),
        );
        worker.on("exit", (code) => {
          if (code !== 0 && !pool.closing) {
            pool.fail(
              new MaskcodecError(`A window worker thread stopped (exit code ${code})`, "ERR_BACKEND"),
              reject,
            );
          }
        });
      });
    });
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Runs one window on the next free worker; its typed arrays are handed over (transferred). */
  async run(job: WindowJob): Promise<Float32Array> {
    const worker = await this.acquire();
    const id = this.nextId++;
    try {
      return await new Promise<Float32Array>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        const transfer = [
          job.f.buffer,
          ...(job.kind === "inpaint" ? [job.b.buffer] : []),
          ...(job.kind === "inpaint" && job.interpolation ? [job.interpolation.buffer] : []),
          ...(job.kind === "scores" && job.analytic ? [job.analytic.buffer] : []),
        ];
        worker.postMessage({ id, job }, transfer as ArrayBuffer[]);
      });
    } finally {
      this.release(worker);
    }
  }

  /** Ends the workers; windows still running (after another window failed) fail too, rather than hang. */
  async close(): Promise<void> {
    this.closing = true;
    this.failure ??= new Error("the window pool is closed");
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }

  private async acquire(): Promise<Worker> {
    for (;;) {
      if (this.failure) throw this.failure;
      const worker = this.idle.pop();
      if (worker) return worker;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(worker: Worker): void {
    this.idle.push(worker);
    this.waiting.shift()?.();
  }

  private receive(message: WorkerReply, rejectStart: (error: Error) => void): void {
    if (message.type === "failed") {
      this.fail(new MaskcodecError(message.message, "ERR_BACKEND"), rejectStart);
      return;
    }
    if (message.type !== "result" && message.type !== "error") return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === "result") pending.resolve(message.values);
    else
      pending.reject(
        message.backend ? new MaskcodecError(message.message, "ERR_BACKEND") : new Error(message.message),
      );
  }

  /** A worker died or could not start: everything pending and everything after fails with its error. */
  private fail(error: Error, rejectStart: (error: Error) => void): void {
    this.failure ??= error;
    rejectStart(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }
}
