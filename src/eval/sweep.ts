import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { MaskcodecError } from "../errors.ts";
import { writeFileAtomic } from "../util/files.ts";
import { type Progress, silentProgress } from "../util/progress.ts";
import {
  type CodecConfig,
  type CodecName,
  createCodec,
  type EvalCodec,
  isMaskCodec,
  sweepKeyFor,
} from "./codecs.ts";
import { cacheKey, configString, curveLabel, type RdRecord } from "./records.ts";
import { runTask, type Task, type TaskEvent } from "./task.ts";

/**
 * The sweep: every image × every (codec, configuration), each point cached in DIR/cache/<key>.json as
 * soon as it completes, so an interrupted sweep re-run with the same arguments redoes nothing that
 * finished. Work runs in worker threads (one per job) or, with jobs = 1, in this thread.
 */

/**
 * The worker thread's entry: the compiled worker.js next to this file in the package (dist/), or, when the
 * sources run directly (tests, tsx), worker-boot.mjs, which registers tsx in the thread before loading
 * worker.ts (a worker does not inherit a loader registered programmatically in the main thread).
 */
const WORKER_ENTRY = import.meta.url.endsWith(".js")
  ? new URL("./worker.js", import.meta.url)
  : new URL("./worker-boot.mjs", import.meta.url);

export interface SweepPoint {
  codec: CodecName;
  config: CodecConfig;
}

export interface SweepImage {
  path: string;
  /** SHA-256 of the file's bytes (with ":crop=N" appended when cropped). */
  hash: string;
  crop?: number;
}

/** Runs tasks; calls `emit` for every point as it completes. */
export type Executor = (
  tasks: Task[],
  emit: (event: TaskEvent) => void,
  signal?: AbortSignal,
) => Promise<void>;

export interface SweepOptions {
  images: SweepImage[];
  points: SweepPoint[];
  cacheDir: string;
  /** Version string per codec, part of every cache key (library versions, model weights). */
  codecVersion: (codec: CodecName) => string;
  execute: Executor;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface SweepFailure {
  image: string;
  codec: string;
  config: CodecConfig;
  message: string;
}

export interface SweepResult {
  /** One record per (image, point) that succeeded, in image-then-point order. */
  records: RdRecord[];
  /** Points computed in this run. */
  computed: number;
  /** Points taken from the cache. */
  cached: number;
  failures: SweepFailure[];
}

export async function hashFile(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

function readCached(path: string): RdRecord | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as RdRecord;
    return typeof record.bpp === "number" && typeof record.psnr === "number" ? record : undefined;
  } catch {
    return undefined; // a damaged cache entry is simply recomputed
  }
}

/**
 * Groups the points still to compute into tasks: per image and codec; for the mask codecs also per
 * everything but the quantiser levels, so that a task's points share one mask selection.
 */
export function planTasks(todo: Array<{ image: SweepImage; point: SweepPoint; key: string }>): Task[] {
  const groups = new Map<string, Task>();
  for (const { image, point, key } of todo) {
    const { levels: _levels, ...rest } = point.config;
    const shared = isMaskCodec(point.codec) ? configString(rest) : "";
    const groupKey = JSON.stringify([image.hash, image.path, point.codec, shared]);
    let task = groups.get(groupKey);
    if (!task) {
      task = {
        id: groups.size,
        imagePath: image.path,
        imageHash: image.hash,
        crop: image.crop,
        codec: point.codec,
        points: [],
      };
      groups.set(groupKey, task);
    }
    task.points.push({ key, config: point.config });
  }
  return [...groups.values()];
}

export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { images, points, cacheDir } = options;
  const progress = options.progress ?? silentProgress;
  mkdirSync(cacheDir, { recursive: true });
  const results = new Map<string, RdRecord>();
  const todo: Array<{ image: SweepImage; point: SweepPoint; key: string }> = [];
  const order: Array<{ image: SweepImage; point: SweepPoint; key: string }> = [];
  for (const image of images) {
    for (const point of points) {
      const key = cacheKey(image.hash, point.codec, options.codecVersion(point.codec), point.config);
      const entry = { image, point, key };
      order.push(entry);
      const cached = readCached(join(cacheDir, `${key}.json`));
      if (cached) {
        // The label is derived, not measured: recompute it so a relabelling never needs a re-run.
        const curve = curveLabel(point.codec, point.config, sweepKeyFor(point.codec));
        results.set(`${key} ${image.path}`, { ...cached, image: image.path, curve });
      } else todo.push(entry);
    }
  }
  const cachedCount = results.size;
  const total = order.length;
  const failures: SweepFailure[] = [];
  const byKey = new Map(todo.map((t) => [t.key, t]));
  let computed = 0;
  const writes: Promise<void>[] = [];
  progress.update(cachedCount, total, `${cachedCount} cached`);
  if (todo.length > 0) {
    await settle(writes, () =>
      options.execute(
        planTasks(todo),
        (event) => {
          const entry = byKey.get(event.key);
          if (!entry) return;
          if (event.type === "result") {
            computed++;
            results.set(`${event.key} ${entry.image.path}`, event.record);
            writes.push(
              writeFileAtomic(join(cacheDir, `${event.key}.json`), JSON.stringify(event.record), {
                overwrite: true,
              }),
            );
            const r = event.record;
            progress.update(
              cachedCount + computed + failures.length,
              total,
              `${r.curve} ${r.bpp.toFixed(3)} bpp ${r.psnr.toFixed(2)} dB`,
            );
          } else {
            failures.push({
              image: entry.image.path,
              codec: entry.point.codec,
              config: entry.point.config,
              message: event.message,
            });
          }
        },
        options.signal,
      ),
    );
  }
  await Promise.all(writes);
  progress.done();
  const records: RdRecord[] = [];
  for (const { image, key } of order) {
    const record = results.get(`${key} ${image.path}`);
    if (record) records.push(record);
  }
  return { records, computed, cached: cachedCount, failures };
}

/** Runs `work`; whether it succeeds or throws (an interruption), first lets every pending cache write land. */
async function settle(writes: Promise<void>[], work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } finally {
    await Promise.allSettled(writes);
  }
}

function interrupted(): MaskcodecError {
  return new MaskcodecError("Interrupted", "ERR_INTERRUPTED");
}

/** Runs tasks one after another in this thread (jobs = 1, and tests that count codec calls). */
export function inProcessExecutor(codecFor: (name: CodecName) => EvalCodec): Executor {
  return async (tasks, emit, signal) => {
    for (const task of tasks) {
      if (signal?.aborted) throw interrupted();
      await runTask(
        task,
        codecFor,
        (event) => {
          if (!signal?.aborted) emit(event);
        },
        signal,
      );
    }
    if (signal?.aborted) throw interrupted();
  };
}

/** The default in-process registry: one codec instance per name (memoised selections live there). */
export function defaultCodecs(options: { model?: string } = {}): (name: CodecName) => EvalCodec {
  const codecs = new Map<CodecName, EvalCodec>();
  return (name) => {
    let codec = codecs.get(name);
    if (!codec) codecs.set(name, (codec = createCodec(name, options)));
    return codec;
  };
}

type WorkerMessage =
  | TaskEvent
  | { type: "ready" }
  | { type: "done"; taskId: number }
  | { type: "failed"; taskId: number; message: string };

/**
 * Runs tasks on `jobs` worker threads, longest-first so the slow tasks do not end up last. Workers run
 * TypeScript through worker-boot.mjs (which registers tsx). Aborting terminates every worker at once.
 */
export function workerPoolExecutor(jobs: number, workerOptions: { model?: string } = {}): Executor {
  return (tasks, emit, signal) =>
    new Promise<void>((resolve, reject) => {
      const queue = [...tasks].sort((a, b) => b.points.length - a.points.length);
      const workers: Worker[] = [];
      let running = 0;
      let finished = false;
      const finish = (error?: Error) => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener("abort", onAbort);
        for (const w of workers) void w.terminate();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(interrupted());
      if (signal?.aborted) return finish(interrupted());
      signal?.addEventListener("abort", onAbort);
      const next = (worker: Worker) => {
        const task = queue.shift();
        if (task) {
          running++;
          worker.postMessage(task);
        } else if (running === 0) {
          finish();
        }
      };
      const count = Math.max(1, Math.min(jobs, tasks.length));
      for (let i = 0; i < count; i++) {
        const worker = new Worker(WORKER_ENTRY, {
          workerData: workerOptions,
        });
        workers.push(worker);
        worker.on("message", (message: WorkerMessage) => {
          if (finished) return;
          if (message.type === "ready") next(worker);
          else if (message.type === "result" || message.type === "error") emit(message);
          else if (message.type === "failed") finish(new Error(`worker task failed: ${message.message}`));
          else if (message.type === "done") {
            running--;
            next(worker);
          }
        });
        worker.on("error", (error) => finish(error));
        worker.on("exit", (code) => {
          if (!finished && code !== 0) finish(new Error(`worker exited with code ${code}`));
        });
      }
    });
}
