import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

function readCsv(text: string): Array<Record<string, string>> {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const header = lines[0].split(",");
  return lines.slice(1).map((l) => {
    const cells = l.split(",");
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/**
 * Plots the training losses and the validation MAE over steps (vega-lite -> SVG -> PNG with sharp) into
 * `outDir/training.png`, and `training.svg` unless `svg` is false: model folders keep the PNG only, which is
 * all a person needs to look at (the SVG copies were 2.2 MB of models/' 19 MB, and models/ ships in the repo).
 */
export async function plotTrainingCurves(
  runDir: string,
  outDir: string,
  { svg: writeSvg = true }: { svg?: boolean } = {},
): Promise<void> {
  const train = readCsv(await readFile(join(runDir, "train-log.csv"), "utf8"));
  const val = existsSync(join(runDir, "val-log.csv"))
    ? readCsv(await readFile(join(runDir, "val-log.csv"), "utf8"))
    : [];
  const lossRows: Array<{ step: number; series: string; value: number }> = [];
  for (const r of train) {
    const step = Number(r.step);
    for (const [key, label] of [
      ["l1_255", "train L1 (0-255)"],
      ["density_err", "density error x100"],
    ] as const) {
      if (r[key] === "" || r[key] === undefined) continue;
      const v = Number(r[key]) * (key === "density_err" ? 100 : 1);
      if (Number.isFinite(v)) lossRows.push({ step, series: label, value: v });
    }
  }
  const valRows: Array<{ step: number; series: string; value: number }> = [];
  for (const r of val) {
    const step = Number(r.step);
    valRows.push({ step, series: `MAE exact D=${r.density}`, value: Number(r.mae_exact) });
    // a quantised refiner's figures with the codec's 16 / 16 levels (torch/import-refiner.ts)
    if (r.mae_q16) {
      valRows.push({ step, series: `MAE 16/16 levels D=${r.density}`, value: Number(r.mae_q16) });
    }
    // absent in logs without the random-mask figure (torch/import-refiner.ts)
    if (r.mae_random) {
      valRows.push({ step, series: `MAE random mask D=${r.density}`, value: Number(r.mae_random) });
    }
  }
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    config: { legend: { labelLimit: 400 } },
    vconcat: [
      {
        title: "Training (means over logging intervals)",
        width: 640,
        height: 220,
        data: { values: lossRows },
        mark: { type: "line", strokeWidth: 1 },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "value", type: "quantitative", scale: { zero: false } },
          color: { field: "series", type: "nominal" },
        },
      },
      {
        title: "Validation (centre crops of --val): MAE on the 0-255 scale",
        width: 640,
        height: 260,
        data: { values: valRows },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "value", type: "quantitative", scale: { zero: false } },
          color: { field: "series", type: "nominal" },
        },
      },
    ],
  };
  const vl = await import("vega-lite");
  const vega = await import("vega");
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  if (writeSvg) await writeFile(join(outDir, "training.svg"), svg);
  const { default: sharp } = await import("sharp");
  await sharp(Buffer.from(svg)).flatten({ background: "#ffffff" }).png().toFile(join(outDir, "training.png"));
}
