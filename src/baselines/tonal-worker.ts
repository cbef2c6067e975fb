import { workerData } from "node:worker_threads";
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
});
