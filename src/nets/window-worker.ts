import { parentPort, workerData } from "node:worker_threads";
import { MaskcodecError } from "../errors.ts";
import { loadGanModel } from "./gan-backend.ts";
import type { WindowJob, WorkerReply, WorkerSetup } from "./window-pool.ts";

/**
 * A window worker thread (window-pool.ts): loads the model on the wasm backend, then runs the windows it is
 * sent, one at a time, exactly as the main thread would (GanModel.runWindow).
 */

const port = parentPort;
if (!port) throw new Error("window-worker.ts runs as a worker thread");
const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const setup = workerData as WorkerSetup;

try {
  const model = await loadGanModel(setup.modelDir, { tfBackend: "wasm" });
  port.on("message", async ({ id, job }: { id: number; job: WindowJob }) => {
    try {
      const values = await model.runWindow(job);
      reply({ type: "result", id, values }, [values.buffer as ArrayBuffer]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      reply({ type: "error", id, message, backend: error instanceof MaskcodecError });
    }
  });
  reply({ type: "ready" });
} catch (error) {
  reply({ type: "failed", message: error instanceof Error ? error.message : String(error) });
}
