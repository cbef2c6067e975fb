import { parentPort, workerData } from "node:worker_threads";
import { type CodecName, createCodec, type EvalCodec } from "./codecs.ts";
import { runTask, type Task } from "./task.ts";

/**
 * Worker-thread side of the sweep pool (started through worker-boot.mjs, which registers tsx). Receives
 * tasks, runs them with one codec instance per codec name (so memoised mask selections are reused across
 * a task's points), and posts each point back as it completes.
 */
const options = (workerData ?? {}) as { model?: string };
const codecs = new Map<CodecName, EvalCodec>();
const codecFor = (name: CodecName): EvalCodec => {
  let codec = codecs.get(name);
  if (!codec) codecs.set(name, (codec = createCodec(name, options)));
  return codec;
};

const port = parentPort;
if (!port) throw new Error("worker.ts must run in a worker thread");
port.on("message", async (task: Task) => {
  try {
    await runTask(task, codecFor, (event) => port.postMessage(event));
    port.postMessage({ type: "done", taskId: task.id });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    port.postMessage({ type: "failed", taskId: task.id, message });
  }
});
port.postMessage({ type: "ready" });
