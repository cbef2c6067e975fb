import { workerData } from "node:worker_threads";
import { collectNow } from "../util/collect.ts";
import { solveTonalJob, type TonalJob, type TonalReply, type TonalWorkerSetup } from "./tonal-pool.ts";

/**
 * A least-squares worker thread (tonal-pool.ts): solves the windows it is sent on its port, one at a time,
 * exactly as the calling thread would, and signals each reply through the shared flags.
 */

const { flags, index, port } = workerData as TonalWorkerSetup;

port.on("message", (job: TonalJob) => {
  let reply: TonalReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const values = solveTonalJob(job);
    reply = { values };
    transfer.push(values.buffer as ArrayBuffer);
  } catch (error) {
    reply = { error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
  Atomics.store(flags, index, 1);
  Atomics.notify(flags, index);
  // The job's arrays (a window's solver, some 30 MB) collected now rather than when V8 gets to it: this
  // thread's allocator keeps what it once held, and at 12 MP the decode that follows the encode has no room
  // for that.
  collectNow();
});
