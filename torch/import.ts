/**
 * Turns the tar of a torch/train.py run into a model folder like `maskcodec train` exports: model.json and
 * weights.bin (float16, the tfjs manifest format), train-log.csv and val-log.csv, training.png and card.json.
 *
 *   npx tsx torch/import.ts RUN.tar models/<id> [--weights best|latest] [--command "how the run was made"]
 *     [--chain "A.tar,B.tar"]   (the earlier runs' tars, oldest first, for the card's training figures)
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/nets/backend.ts";
import type { ArchOptions } from "../src/nets/models.ts";
import { plotTrainingCurves } from "../src/nets/plot.ts";
import { adversarialWeight } from "../src/nets/train.ts";
import { loadWeights, saveWeights } from "../src/nets/weights.ts";
import { npyRows } from "./npy.ts";

interface RunState {
  init: string;
  chain?: string[];
  initMeta: { arch: ArchOptions; step: number };
  densityRange: [number, number];
  startStep: number;
  step: number;
  samples: number;
  wallSeconds: number;
  runSeconds: number;
  bestStep: number | null;
  bestMae: number | null;
  bestValidation: { weights?: "live" } | null;
  /** absent in older runs, which all validated on 48 crops */
  valCrops?: number;
  options: Record<string, unknown>;
  device: string;
  torch: string;
}

/** The members of an uncompressed ustar archive (what Python's tarfile writes), by name. */
export function readTar(data: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let offset = 0;
  const text = (start: number, length: number) =>
    new TextDecoder().decode(data.subarray(start, start + length)).replace(/\0.*$/s, "");
  while (offset + 512 <= data.length) {
    const name = text(offset, 100);
    if (name === "") break;
    const size = Number.parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = text(offset + 156, 1);
    if (type === "0" || type === "") out.set(name, data.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function member(files: Map<string, Uint8Array>, name: string): Uint8Array {
  const m = files.get(name);
  if (!m) throw new Error(`the run's tar has no ${name}`);
  return m;
}

async function main(): Promise<void> {
  const [tarPath, outDir] = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  if (!tarPath || !outDir) {
    console.error(
      "usage: npx tsx torch/import.ts RUN.tar models/<id> [--weights best|latest] [--command TEXT]",
    );
    process.exit(2);
  }
  const which = option("--weights", "best");
  await initBackend("wasm");
  const files = readTar(new Uint8Array(await readFile(tarPath)));
  const state = JSON.parse(new TextDecoder().decode(member(files, "state.json"))) as RunState;
  const specs = (
    JSON.parse(new TextDecoder().decode(member(files, `${which}.json`))) as {
      weights: Array<{ name: string; shape: number[]; offset: number }>;
    }
  ).weights;
  const blob = member(files, `${which}.f32`);
  const floats = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  const tensors: Array<[string, tf.Tensor]> = specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, tf.tensor(floats.subarray(s.offset / 4, s.offset / 4 + n), s.shape)];
  });
  const step = which === "best" ? (state.bestStep as number) : state.step;
  const id = basename(outDir);
  const meta = { id, arch: state.initMeta.arch, densityRange: state.densityRange, step };
  const { weightHash } = await saveWeights(outDir, tensors, meta, { float16: true });
  for (const f of ["train-log.csv", "val-log.csv"]) await writeFile(join(outDir, f), member(files, f));
  const scratch = await mkdtemp(join(tmpdir(), "maskcodec-import-"));
  try {
    for (const f of ["train-log.csv", "val-log.csv"]) await writeFile(join(scratch, f), member(files, f));
    await plotTrainingCurves(scratch, outDir, { svg: false });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  // the GPU runs behind this model, oldest first (their own tars, when given), for the card's figures
  const chain: RunState[] = [];
  for (const p of option("--chain", "")
    .split(",")
    .filter((s) => s.length > 0)) {
    const earlier = readTar(new Uint8Array(await readFile(p)));
    chain.push(JSON.parse(new TextDecoder().decode(member(earlier, "state.json"))) as RunState);
  }
  chain.push(state);
  const o = state.options;
  const size = Number(o.size);
  const [dmin, dmax] = state.densityRange;
  const card = {
    id,
    weightHash,
    density: dmin === dmax ? dmin : { min: dmin, max: dmax },
    densityConditioned: state.initMeta.arch.densityInput,
    architecture: state.initMeta.arch,
    weights: {
      source: which,
      step,
      selectedBy: which === "best" ? "validation MAE, exact density (torch/train.py)" : "latest",
      float16: true,
    },
    training: {
      trainer: "torch/train.py (PyTorch port of src/nets/train.ts)",
      data: "bsds500/train",
      validation: `bsds500/val, ${state.valCrops ?? (await npyRows(String(o.val))) ?? 48} centre crops of 128x128`,
      cropSize: size,
      batch: Number(o.batch),
      stepsDone: state.step,
      samplesSeen: state.samples,
      wallSeconds: Math.round(state.wallSeconds),
      lr: Number(o.lr),
      alpha: Number(o.alpha),
      alphaPerValue: adversarialWeight({ alpha: Number(o.alpha), size }),
      beta: Number(o.beta),
      // not in the paper: the generators' loss had W (1 - SSIM) added (--ssim-weight); absent when 0
      ...(Number(o.ssim_weight) > 0 ? { ssimWeight: Number(o.ssim_weight) } : {}),
      runs: chain.map((s) => ({
        init: s.init,
        steps: [s.startStep, s.step],
        cropSize: Number(s.options.size),
        batch: Number(s.options.batch),
        lr: Number(s.options.lr),
        ...(Number(s.options.ssim_weight) > 0 ? { ssimWeight: Number(s.options.ssim_weight) } : {}),
        seconds: s.runSeconds,
        device: s.device,
        torch: s.torch,
      })),
    },
    validation: which === "best" ? state.bestValidation : null,
    exportedAt: new Date().toISOString(),
    command: option("--command", ""),
    selection: "dither",
  };
  await writeFile(join(outDir, "card.json"), `${JSON.stringify(card, null, 1)}\n`);
  const check = await loadWeights(outDir);
  for (const t of check.tensors.values()) t.dispose();
  console.log(`${tarPath} (${which}, step ${step}) -> ${outDir}, weights ${weightHash.slice(0, 12)}`);
}

await main();
