import type { CodecConfig, CodecName, EvalCodec } from "./codecs.ts";
import { curveLabel, type RdRecord } from "./records.ts";

/**
 * One unit of work for a worker: one image, one codec, several configurations that share the expensive
 * part (the image decode; for the mask codecs, the mask selection, which does not depend on the
 * quantiser levels). Plain data, so it crosses worker_threads by structured clone.
 */
export interface Task {
  id: number;
  imagePath: string;
  imageHash: string;
  /** Use the centred crop×crop part of the image (the paper's protocol uses 128×128 crops). */
  crop?: number;
  codec: CodecName;
  points: Array<{ key: string; config: CodecConfig }>;
}

export type TaskEvent =
  | { type: "result"; taskId: number; key: string; record: RdRecord }
  | { type: "error"; taskId: number; key: string; message: string; code?: string };

/**
 * Runs a task: reads the image, runs the codec on each configuration, measures the real size and the
 * quality of the real decoded image, and reports each point as soon as it is done (so an interruption
 * loses at most the point in progress).
 */
export async function runTask(
  task: Task,
  codecFor: (name: CodecName) => EvalCodec,
  emit: (event: TaskEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const { readImage, centreCrop } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const codec = codecFor(task.codec);
  const full = await readImage(task.imagePath, { onWarning: () => {} });
  const image = task.crop ? centreCrop(full, task.crop) : full;
  const pixels = image.width * image.height;
  for (const { key, config } of task.points) {
    if (signal?.aborted) return;
    try {
      const result = await codec.run(image, config);
      const figures = quality(image, result.decoded);
      const record: RdRecord = {
        codec: task.codec,
        curve: curveLabel(task.codec, config, codec.sweepKey),
        config,
        image: task.imagePath,
        image_hash: task.imageHash,
        width: image.width,
        height: image.height,
        channels: image.channels,
        bytes: result.bytes.length,
        bpp: (result.bytes.length * 8) / pixels,
        psnr: figures.psnr,
        ssim: figures.ssim,
        mae: figures.mae,
        encode_s: result.encode_s,
        decode_s: result.decode_s,
      };
      if (result.details) record.details = result.details;
      emit({ type: "result", taskId: task.id, key, record });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown }).code;
      emit({
        type: "error",
        taskId: task.id,
        key,
        message,
        code: typeof code === "string" ? code : undefined,
      });
    }
  }
}
