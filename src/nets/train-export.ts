import { existsSync } from "node:fs";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { TrainOptions, TrainState } from "./train.ts";
import { adversarialWeight } from "./train-steps.ts";
import type { ValResult } from "./train-validate.ts";
import { loadWeights } from "./weights.ts";

/**
 * The export of a run: the best weights by the run's selection rule (or the latest when no validation ran)
 * copied to the model folder, with the training logs, the plot of the curves and card.json, which records
 * the architecture, the training settings, the steps and the validation figures of the exported weights.
 */

export interface ExportContext {
  options: TrainOptions;
  state: TrainState;
  wallSeconds(): number;
  saveModel(dir: string): Promise<{ weightHash: string; bytes: number }>;
  log: (line: string) => void;
}

export async function exportModel(
  t: ExportContext,
  extraCard: Record<string, unknown> = {},
): Promise<{ weightHash: string; dir: string }> {
  const out = t.options.out;
  await mkdir(out, { recursive: true });
  const byMae = t.options.selectBy === "mae";
  const bestDir = join(t.options.runDir, byMae ? "best-mae" : "best");
  let weightHash: string;
  let source: "best" | "latest";
  let val: ValResult | null;
  if (existsSync(join(bestDir, "model.json"))) {
    await cp(join(bestDir, "model.json"), join(out, "model.json"));
    await cp(join(bestDir, "weights.bin"), join(out, "weights.bin"));
    weightHash = (await loadWeights(out)).weightHash;
    source = "best";
    val = JSON.parse(await readFile(join(bestDir, "val.json"), "utf8")) as ValResult;
  } else {
    weightHash = (await t.saveModel(out)).weightHash;
    source = "latest";
    val = t.state.lastVal;
  }
  for (const f of ["train-log.csv", "val-log.csv"]) {
    if (existsSync(join(t.options.runDir, f))) await cp(join(t.options.runDir, f), join(out, f));
  }
  const o = t.options;
  const card = {
    id: basename(out),
    weightHash,
    density: o.densityMin === o.densityMax ? o.densityMin : { min: o.densityMin, max: o.densityMax },
    densityConditioned: o.arch.densityInput,
    architecture: o.arch,
    weights: {
      source,
      step: source === "best" ? (byMae ? t.state.bestMaeStep : t.state.bestStep) : t.state.step,
      selectedBy:
        source === "best"
          ? byMae
            ? "validation MAE, exact density"
            : "validation mask loss (Eq. 4)"
          : "latest",
      float16: o.float16,
    },
    training: {
      data: o.dataDir,
      validation: o.valDir ?? null,
      cropSize: o.size,
      batch: o.batch,
      warmupSteps: o.warmupSteps,
      stepsDone: t.state.step,
      samplesSeen: t.state.samples,
      wallSeconds: Math.round(t.wallSeconds()),
      lr: o.lr,
      alpha: o.alpha,
      alphaPerValue: adversarialWeight(o),
      beta: o.beta,
      ...(o.ssimWeight ? { ssimWeight: o.ssimWeight } : {}),
      ...(t.state.freshAdamStep !== undefined ? { lrWarmup: o.lrWarmup ?? 0 } : {}),
      seed: o.seed,
      tfBackend: o.tfBackend,
    },
    validation: val,
    exportedAt: new Date().toISOString(),
    ...extraCard,
  };
  await writeFile(join(out, "card.json"), `${JSON.stringify(card, null, 1)}\n`);
  try {
    const { plotTrainingCurves } = await import("./plot.ts");
    await plotTrainingCurves(t.options.runDir, out, { svg: false });
  } catch (error) {
    t.log(`plot failed: ${(error as Error).message}`);
  }
  return { weightHash, dir: out };
}
