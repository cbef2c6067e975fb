/**
 * Makes a model folder of a torch/refine.py run: the frozen base model's weights with the run's best weights
 * added (--mode ref: the refiner "ref/…", ArchOptions.refiner) or in place of the base's (--mode gen: "gen/…"),
 * float16 like the other shipped models. The folder keeps the base's joint-training logs and plot
 * (train-log.csv, val-log.csv, training.png) and gets the run's own under refiner/ (log.txt, the CSVs
 * parsed from it, training.png); card.json is the base's card with a "refinement" section added.
 *
 *   npx tsx torch/import-refiner.ts models/maskgan-v8-d05 runs/ref-a models/maskgan-my-d05 [--command TEXT]
 *     [--density-range MIN:MAX]
 *
 * --density-range sets the model's density range (the densities its density input is clamped to) to those
 * its refiner was trained on, inside the base's range. With --extend-range it may also widen them past the
 * base's range (parseRange says why that is sound only for pools drawn there). The new folder is used once it is
 * registered (torch/register.ts), which also says for which densities it is the default.
 */

import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/nets/backend.ts";
import { plotTrainingCurves } from "../src/nets/plot.ts";
import { loadWeights, saveWeights, saveWeightsOnBase } from "../src/nets/weights.ts";
import { npyRows } from "./npy.ts";

interface RefineArgs {
  mode: "ref" | "gen";
  pools: string[];
  val: string;
  /** Validation densities: one, or (refine.py --density 0.05,0.1) several, scored by their mean. */
  density: number | number[];
  batch: number;
  lr: number;
  warmup: number;
  ssim: number;
  ema: number;
  refiner: { width: number; levels: number; quantised?: boolean } | null;
  /** Earlier runs this one went on from (--init), oldest first. */
  chain?: string[];
}

/** Validation figures: exact values, and (refine.py --quantised) values on the codec's 16 / 16 levels. */
interface ValFigures {
  mae: number;
  ssim: number;
  q16?: { mae: number; ssim: number };
  /** The exact MAE at each density of a run validated at several. */
  byDensity?: Record<string, number>;
}

interface LogFigures {
  trainCsv: string;
  valCsv: string;
  steps: number;
  secondsPerStep: number;
  start: ValFigures;
  best: ValFigures & { step: number; weights: "live" | "ema" };
}

const VAL_HEADER = "step,density,mae_exact,ssim_exact";
const VAL_HEADER_Q16 = `${VAL_HEADER},mae_q16,ssim_q16`;

/** refine.py's selection score: the exact MAE, or its mean with the quantised one (--quantised). */
function score(v: ValFigures): number {
  return v.q16 ? (v.mae + v.q16.mae) / 2 : v.mae;
}

/** "X / Y", "X / Y q16 A / B" or "X / Y (0.05: A, 0.1: B)" after "val" or "ema" in a validation line. */
function valFigures(text: string): ValFigures | undefined {
  const m = /^([\d.]+) \/ ([\d.]+)(?: \(([^)]*)\))?(?: q16 ([\d.]+) \/ ([\d.]+))?$/.exec(text.trim());
  if (!m) return undefined;
  const byDensity = m[3]
    ? Object.fromEntries(
        m[3].split(", ").map((part) => {
          const [d, mae] = part.split(": ");
          return [d.trim(), Number(mae)];
        }),
      )
    : undefined;
  return {
    mae: Number(m[1]),
    ssim: Number(m[2]),
    ...(m[4] ? { q16: { mae: Number(m[4]), ssim: Number(m[5]) } } : {}),
    ...(byDensity ? { byDensity } : {}),
  };
}

/** A density or a list of them as the card and the CSV name it: 0.05, or 0.05+0.1. */
export function densityLabel(density: number | number[]): string {
  return Array.isArray(density) ? density.join("+") : String(density);
}

/** The training and validation figures of refine.py's log.txt. */
export function parseRefineLog(text: string, density: number | number[]): LogFigures {
  const train = ["step,l1_255"];
  const val = [VAL_HEADER];
  let steps = 0;
  let secondsPerStep = Number.NaN;
  let start: ValFigures | undefined;
  let best: LogFigures["best"] | undefined;
  for (const line of text.split("\n")) {
    const t = /^step (\d+) l1 ([\d.]+) ([\d.]+)s\/step$/.exec(line);
    if (t) {
      train.push(`${t[1]},${t[2]}`);
      steps = Number(t[1]);
      secondsPerStep = Number(t[3]);
      continue;
    }
    const v = /^step (\d+) val (.+?)(?: ema (.+))?$/.exec(line);
    const live = v ? valFigures(v[2]) : undefined;
    if (!v || !live) continue;
    const step = Number(v[1]);
    if (live.q16) val[0] = VAL_HEADER_Q16;
    val.push(
      `${step},${densityLabel(density)},${live.mae},${live.ssim}${live.q16 ? `,${live.q16.mae},${live.q16.ssim}` : ""}`,
    );
    // several densities: a row of each (its SSIM is not logged), so that the plot draws a curve of each
    for (const [d, mae] of Object.entries(live.byDensity ?? {})) {
      val.push(`${step},${d},${mae},${live.q16 ? ",," : ""}`);
    }
    if (step === 0) start = live;
    const candidates: Array<[ValFigures, "live" | "ema"]> = [[live, "live"]];
    const averaged = v[3] ? valFigures(v[3]) : undefined;
    if (averaged) candidates.push([averaged, "ema"]);
    for (const [c, weights] of candidates) {
      if (!best || score(c) < score(best)) best = { step, ...c, weights };
    }
  }
  if (!start || !best) throw new Error("log.txt has no validation lines");
  return {
    trainCsv: `${train.join("\n")}\n`,
    valCsv: `${val.join("\n")}\n`,
    steps,
    secondsPerStep,
    start,
    best,
  };
}

/**
 * The path of the shipped weights through a chain of runs, each started from its predecessor's best: every
 * earlier run up to its best step, then the last run whole, on one step axis.
 */
export function joinRefineLogs(
  logs: string[],
  density: number | number[],
  perRun?: Array<number | number[] | undefined>,
): LogFigures & { runs: Array<{ steps: number; best: LogFigures["best"] }> } {
  // each run at its own validation density where known (a chain can change it), else at `density`
  const labels = logs.map((_, k) => densityLabel(perRun?.[k] ?? density));
  const parsed = logs.map((t, k) => parseRefineLog(t, perRun?.[k] ?? density));
  // a run that validates at another density than the one before it keeps its step 0: the start there
  const newDensity = (k: number) => k === 0 || labels[k] !== labels[k - 1];
  // the figures before: the first run's start at the density the last run validates at
  const first = labels.indexOf(labels[labels.length - 1]);
  const train = ["step,l1_255"];
  // runs of a quantised refiner log the codec's figures too; earlier exact runs leave those cells empty
  const withQ16 = parsed.some((p) => p.valCsv.startsWith(VAL_HEADER_Q16));
  const val = [withQ16 ? VAL_HEADER_Q16 : VAL_HEADER];
  let offset = 0;
  parsed.forEach((p, k) => {
    const last = k === parsed.length - 1;
    const keep = (csv: string) =>
      csv
        .trim()
        .split("\n")
        .slice(1)
        .map((row) => row.split(","))
        .filter((cells) => last || Number(cells[0]) <= p.best.step)
        .filter((cells) => newDensity(k) || Number(cells[0]) > 0)
        .map((cells) => [String(offset + Number(cells[0])), ...cells.slice(1)].join(","));
    train.push(...keep(p.trainCsv));
    const pad = withQ16 && !p.valCsv.startsWith(VAL_HEADER_Q16) ? ",," : "";
    val.push(...keep(p.valCsv).map((row) => row + pad));
    if (!last) offset += p.best.step;
  });
  const final = parsed[parsed.length - 1];
  return {
    trainCsv: `${train.join("\n")}\n`,
    valCsv: `${val.join("\n")}\n`,
    steps: offset + final.steps,
    secondsPerStep: final.secondsPerStep,
    start: parsed[first].start,
    best: { ...final.best, step: offset + final.best.step },
    runs: parsed.map((p) => ({ steps: p.steps, best: p.best })),
  };
}

/**
 * The runs of a chain, oldest first, with their log.txt. An entry may be a model folder this script made
 * (refine.py --init models/<id>): it stands for its own chain of runs, whose logs it keeps in refiner/, so
 * going on from a shipped model needs none of the run folders it was made from.
 */
export async function chainLogs(
  entries: string[],
): Promise<Array<{ run: string; text: string; density?: number | number[] }>> {
  const out: Array<{ run: string; text: string; density?: number | number[] }> = [];
  for (const entry of entries) {
    if (!existsSync(join(entry, "card.json"))) {
      const argsFile = join(entry, "args.json");
      const density = existsSync(argsFile)
        ? (JSON.parse(await readFile(argsFile, "utf8")) as { density?: number | number[] }).density
        : undefined;
      out.push({ run: entry, text: await readFile(join(entry, "log.txt"), "utf8"), density });
      continue;
    }
    const card = JSON.parse(await readFile(join(entry, "card.json"), "utf8")) as {
      refinement?: { runs: Array<{ run: string; density?: number | number[] }>; validation?: string };
    };
    const runs = card.refinement?.runs;
    if (!runs) throw new Error(`${entry} is a model folder without a refinement section`);
    // older cards name one validation density for all their runs: "... at D=0.05, ..."
    const named = /at D=([\d.]+),/.exec(card.refinement?.validation ?? "");
    for (const [k, r] of runs.entries()) {
      const name = runs.length > 1 ? `log-${k + 1}.txt` : "log.txt";
      const density = r.density ?? (named ? Number(named[1]) : undefined);
      out.push({ run: r.run, text: await readFile(join(entry, "refiner", name), "utf8"), density });
    }
  }
  return out;
}

/**
 * MIN:MAX inside the base model's range: outside it the codec clamps the networks' density input to the
 * range, while torch/refine.py and mask-pool.py do not. With `extend` (--extend-range) it may reach past the
 * base's: the new model's range is then what the codec clamps to, so it feeds the base networks the
 * unclamped densities the refiner was trained and validated on (pools drawn over that range).
 */
export function parseRange(text: string, base: [number, number], extend = false): [number, number] {
  const m = /^([\d.]+):([\d.]+)$/.exec(text);
  const range = m ? ([Number(m[1]), Number(m[2])] as [number, number]) : undefined;
  if (!range || !(range[0] > 0 && range[0] <= range[1]))
    throw new Error(`--density-range ${text}: expected MIN:MAX`);
  if (!extend && (range[0] < base[0] || range[1] > base[1])) {
    throw new Error(
      `--density-range ${text} is outside the base model's range ${base[0]}:${base[1]} (--extend-range allows it)`,
    );
  }
  return range;
}

async function main(): Promise<void> {
  const [baseDir, runDir, outDir] = process.argv.slice(2);
  const option = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const command = option("--command") ?? "";
  const rangeText = option("--density-range");
  const extendRange = process.argv.includes("--extend-range");
  if (!baseDir || !runDir || !outDir) {
    console.error(
      "usage: npx tsx torch/import-refiner.ts BASE_MODEL RUN_DIR models/<id> [--command TEXT] [--density-range MIN:MAX [--extend-range]]",
    );
    process.exit(2);
  }
  if (!existsSync(join(runDir, "best.f32"))) {
    throw new Error(`${runDir} has no best weights: validation never beat the base model`);
  }
  await initBackend("wasm");
  const args = JSON.parse(await readFile(join(runDir, "args.json"), "utf8")) as RefineArgs;
  const chain = await chainLogs([...(args.chain ?? []), runDir]);
  const runDirs = chain.map((c) => c.run);
  const logTexts = chain.map((c) => c.text);
  const figures = joinRefineLogs(
    logTexts,
    args.density,
    chain.map((c) => c.density),
  );
  const specs = (
    JSON.parse(await readFile(join(runDir, "best.json"), "utf8")) as {
      weights: Array<{ name: string; shape: number[]; offset: number }>;
    }
  ).weights;
  const blob = await readFile(join(runDir, "best.f32"));
  const floats = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  const base = await loadWeights(baseDir);
  const tensors = new Map(base.tensors);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (args.mode === "gen" && !tensors.has(s.name)) throw new Error(`${s.name} is not in ${baseDir}`);
    tensors.set(s.name, tf.tensor(floats.subarray(s.offset / 4, s.offset / 4 + n), s.shape));
  }
  const baseMeta = base.json.maskcodec as Record<string, unknown> & {
    arch: Record<string, unknown>;
    densityRange: [number, number];
  };
  const densityRange = rangeText
    ? parseRange(rangeText, baseMeta.densityRange, extendRange)
    : baseMeta.densityRange;
  const arch = args.mode === "ref" ? { ...baseMeta.arch, refiner: args.refiner } : baseMeta.arch;
  const id = basename(outDir);
  const meta = { ...baseMeta, id, arch, densityRange };
  // a refiner only adds weights: the new folder stores those and reads the base's shard from beside it
  // (saveWeightsOnBase); --mode gen replaces the base's generator, so its folder holds all the weights
  const { weightHash } =
    args.mode === "ref"
      ? await saveWeightsOnBase(
          outDir,
          baseDir,
          [...tensors].filter(([name]) => !base.tensors.has(name)),
          meta,
          { float16: true },
        )
      : await saveWeights(outDir, [...tensors], meta, { float16: true });
  for (const f of ["train-log.csv", "val-log.csv", "training.png"]) {
    if (existsSync(join(baseDir, f))) await copyFile(join(baseDir, f), join(outDir, f));
  }
  const logDir = join(outDir, "refiner");
  await mkdir(logDir, { recursive: true });
  for (const [k, text] of logTexts.entries()) {
    await writeFile(join(logDir, logTexts.length > 1 ? `log-${k + 1}.txt` : "log.txt"), text);
  }
  await writeFile(join(logDir, "train-log.csv"), figures.trainCsv);
  await writeFile(join(logDir, "val-log.csv"), figures.valCsv);
  await plotTrainingCurves(logDir, logDir, { svg: false });
  const baseCard = JSON.parse(await readFile(join(baseDir, "card.json"), "utf8")) as Record<string, unknown>;
  const valCrops = (await npyRows(args.val)) ?? "?";
  const card = {
    ...baseCard,
    id,
    weightHash,
    density: { min: densityRange[0], max: densityRange[1] },
    architecture: arch,
    refinement: {
      base: basename(baseDir),
      baseWeightHash: base.weightHash,
      trainer: "torch/refine.py (both generators of the base frozen, on a pool of its own masks)",
      mode: args.mode,
      trained: args.mode === "ref" ? "refiner hourglass ref/* (new)" : "inpainting generator gen/*",
      data: `bsds500/train, ${args.pools.length} pool${args.pools.length === 1 ? "" : "s"} of torch/mask-pool.py (the last run's)`,
      loss: `L1 + ${args.ssim} (1 - SSIM)`,
      batch: args.batch,
      lr: args.lr,
      warmup: args.warmup,
      ...(args.ema > 0 ? { ema: args.ema } : {}),
      steps: figures.steps,
      runs: runDirs.map((d, k) => ({
        run: d,
        ...(chain[k].density !== undefined ? { density: chain[k].density } : {}),
        steps: figures.runs[k].steps,
        best: figures.runs[k].best,
      })),
      secondsPerStep: figures.secondsPerStep,
      validation: `bsds500/val, ${valCrops} centre crops of 128x128 at D=${densityLabel(args.density)}, fixed masks${Array.isArray(args.density) && args.density.length > 1 ? " (scored by the mean MAE)" : ""}`,
      before: figures.start,
      selected: figures.best,
      log: `refiner/${logTexts.length > 1 ? "log-*.txt" : "log.txt"} (plot of the path: refiner/training.png)`,
    },
    exportedAt: new Date().toISOString(),
    command,
  };
  await writeFile(join(outDir, "card.json"), `${JSON.stringify(card, null, 1)}\n`);
  const check = await loadWeights(outDir);
  for (const t of check.tensors.values()) t.dispose();
  console.log(
    `${runDir} (step ${figures.best.step}, val MAE ${figures.best.mae}) -> ${outDir}, weights ${weightHash.slice(0, 12)}`,
  );
}

if (process.argv[1]?.endsWith("import-refiner.ts")) await main();
