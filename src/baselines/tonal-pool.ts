import { createRequire } from "node:module";
import type { MessagePort, Worker } from "node:worker_threads";
import { MaskcodecError } from "../errors.ts";
import { createImage, createMask } from "../image/types.ts";
import { optimiseTonal, type TonalOptions } from "./tonal.ts";

/**
 * The windows of the tree mode's least squares (optimiseTonalTiled) on worker threads, for callers that are
 * synchronous (the rate control's encoder): the calling thread hands one window to each worker and computes
 * windows itself meanwhile, reads the workers' results synchronously (receiveMessageOnPort) and hands them
 * more, and blocks (Atomics.wait) only when none is left for it. Each window's values are a function of its own inputs, computed by the same code
 * on every thread, so the streams are the same for any number of threads (test/baselines/tonal-pool.test.ts).
 *
 * Node only (worker_threads); a worker holds one window's solver (tens of MB at the encoder's windows).
 */

/** One window's least-squares problem (optimiseTonal's arguments, as plain arrays). */
export interface TonalJob {
  width: number;
  height: number;
  channels: 1 | 3;
  image: Float32Array;
  mask: Uint8Array;
  start?: Float32Array;
  fixed?: Uint8Array;
  options: Omit<TonalOptions, "start" | "fixed">;
}

/** What a worker sends back for a job. */
export type TonalReply = { values: Float32Array } | { error: string };

/** What a worker is given when it starts. */
export interface TonalWorkerSetup {
  /** flags[index] is set to 1 (and notified) when the worker's reply is on its port. */
  flags: Int32Array;
  index: number;
  port: MessagePort;
}

/** One window's values, as optimiseTonal computes them (on whichever thread). */
export function solveTonalJob(job: TonalJob): Float32Array {
  const { width: w, height: h, channels: C } = job;
  return optimiseTonal(createImage(w, h, C, job.image), createMask(w, h, job.mask), {
    ...job.options,
    start: job.start && createImage(w, h, C, job.start),
    fixed: job.fixed,
  }).values.data;
}

/**
 * A worker's reply may take this long before the pool gives up on it: a window's least squares takes a few
 * seconds (576 × 576 pixels at the encoder's windows), and a worker that died never answers, while the caller
 * blocks and cannot see its exit event; it must not wait forever.
 */
const REPLY_TIMEOUT_MS = 3 * 60 * 1000;

const WORKER_ENTRY = import.meta.url.endsWith(".js")
  ? new URL("./tonal-worker.js", import.meta.url)
  : new URL("./tonal-worker-boot.mjs", import.meta.url);

/** The terminations of closed pools' workers, not yet awaited. */
const exiting: Promise<number>[] = [];

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
}

export class TonalPool {
  private readonly flags: Int32Array;

  private constructor(
    private readonly workers: PoolWorker[],
    flags: Int32Array,
    private readonly receive: (port: MessagePort) => { message: unknown } | undefined,
  ) {
    this.flags = flags;
  }

  /**
   * A pool of `threads` threads in all: this one and threads − 1 workers. Null for one thread. Synchronous
   * (the workers load their modules while the first windows are handed out).
   */
  static create(threads: number): TonalPool | null {
    if (threads <= 1) return null;
    // required here, not imported: this module also loads in the browser, where no pool is ever made
    const { Worker, MessageChannel, receiveMessageOnPort } = createRequire(import.meta.url)(
      "node:worker_threads",
    ) as typeof import("node:worker_threads");
    const flags = new Int32Array(new SharedArrayBuffer(4 * (threads - 1)));
    const workers: PoolWorker[] = [];
    for (let index = 0; index < threads - 1; index++) {
      const { port1, port2 } = new MessageChannel();
      const setup: TonalWorkerSetup = { flags, index, port: port2 };
      const worker = new Worker(WORKER_ENTRY, { workerData: setup, transferList: [port2] });
      worker.unref();
      workers.push({ worker, port: port1 });
    }
    return new TonalPool(workers, flags, receiveMessageOnPort);
  }

  /**
   * Solves jobs 0 … count − 1 (made by `jobAt` when their turn comes, so that only the inputs of the jobs
   * under way exist at once: one per thread) and hands each result to `use`. Synchronous. Each worker gets a
   * job; this thread solves the next ones itself, and between them gives every worker whose reply is in its
   * next job; it blocks only when no job is left for it. So jobs of unequal cost (a colour image's luma and
   * chroma planes) keep both threads busy. The results do not depend on the order: each job's values are a
   * function of its inputs, and `use` places them.
   */
  run(count: number, jobAt: (i: number) => TonalJob, use: (i: number, values: Float32Array) => void): void {
    let next = 0;
    const running = new Array<number>(this.workers.length).fill(-1); // each worker's job, −1: idle
    const hand = (w: number) => {
      Atomics.store(this.flags, w, 0);
      running[w] = next;
      this.workers[w].port.postMessage(jobAt(next));
      next++;
    };
    const collect = (w: number) => {
      const job = running[w];
      running[w] = -1;
      use(job, this.reply(w));
      if (next < count) hand(w);
    };
    for (let w = 0; w < this.workers.length && next < count; w++) hand(w);
    while (next < count || running.some((job) => job >= 0)) {
      for (let w = 0; w < this.workers.length; w++) {
        if (running[w] >= 0 && Atomics.load(this.flags, w) === 1) collect(w);
      }
      if (next < count) {
        const here = next++;
        use(here, solveTonalJob(jobAt(here)));
      } else {
        const w = running.findIndex((job) => job >= 0);
        if (w >= 0) collect(w); // waits for that worker's reply
      }
    }
  }

  /** Ends the workers (their memory goes when their threads have exited: see `settled`). */
  close(): void {
    for (const { worker, port } of this.workers) {
      port.close();
      exiting.push(worker.terminate());
    }
    this.workers.length = 0;
  }

  /**
   * Resolves when the threads of every closed pool have exited. Until then their memory (a window's solver
   * each) is still the process': a caller about to need a lot (the CLI's decode of a 12 MP result) waits.
   */
  static async settled(): Promise<void> {
    const all = exiting.splice(0);
    await Promise.allSettled(all);
  }

  private reply(w: number): Float32Array {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (Atomics.load(this.flags, w) === 0) {
      if (Date.now() > deadline) {
        throw new MaskcodecError("A least-squares worker thread stopped answering", "ERR_BACKEND");
      }
      Atomics.wait(this.flags, w, 0, 1000);
    }
    const reply = this.receive(this.workers[w].port)?.message as TonalReply | undefined;
    if (!reply) throw new Error("tonal pool: a worker signalled without a reply");
    if ("error" in reply) throw new Error(`a least-squares worker thread failed: ${reply.error}`);
    return reply.values;
  }
}
