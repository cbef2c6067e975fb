import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainLogs, joinRefineLogs, parseRange, parseRefineLog } from "../../torch/import-refiner.ts";

describe("torch/refine.py's log", () => {
  it("gives the training and validation curves, the start and the best of live and averaged weights", () => {
    const log = [
      "pool (12000, 128, 128, 3)",
      "params 107421",
      "step 0 val 11.122 / 0.7155",
      "step 50 l1 8.810 1.64s/step",
      "step 100 l1 8.700 1.70s/step",
      "step 100 val 11.100 / 0.7148 ema 11.090 / 0.7160",
      "step 150 l1 8.650 1.71s/step",
      "step 200 val 11.095 / 0.7170 ema 11.101 / 0.7150",
      "best 11.090 at step 100",
    ].join("\n");
    const figures = parseRefineLog(log, 0.05);
    expect(figures.start).toEqual({ mae: 11.122, ssim: 0.7155 });
    expect(figures.best).toEqual({ step: 100, mae: 11.09, ssim: 0.716, weights: "ema" });
    expect(figures.steps).toBe(150);
    expect(figures.secondsPerStep).toBe(1.71);
    expect(figures.trainCsv.trim().split("\n")).toEqual([
      "step,l1_255",
      "50,8.810",
      "100,8.700",
      "150,8.650",
    ]);
    expect(figures.valCsv.trim().split("\n")).toEqual([
      "step,density,mae_exact,ssim_exact",
      "0,0.05,11.122,0.7155",
      "100,0.05,11.1,0.7148",
      "200,0.05,11.095,0.717",
    ]);
  });

  it("reads a quantised refiner's codec figures and picks the best by the mean of both MAEs, as refine.py", () => {
    const log = [
      "step 0 val 10.787 / 0.7260 q16 12.341 / 0.7069",
      "step 50 l1 8.1 3.9s/step",
      "step 100 val 10.780 / 0.7261 q16 12.300 / 0.7080",
      "step 200 val 10.800 / 0.7250 q16 12.200 / 0.7090 ema 10.790 / 0.7255 q16 12.250 / 0.7085",
    ].join("\n");
    const figures = parseRefineLog(log, 0.05);
    expect(figures.start).toEqual({ mae: 10.787, ssim: 0.726, q16: { mae: 12.341, ssim: 0.7069 } });
    expect(figures.best).toEqual({
      step: 200,
      mae: 10.8,
      ssim: 0.725,
      q16: { mae: 12.2, ssim: 0.709 },
      weights: "live",
    });
    expect(figures.valCsv.trim().split("\n")).toEqual([
      "step,density,mae_exact,ssim_exact,mae_q16,ssim_q16",
      "0,0.05,10.787,0.726,12.341,0.7069",
      "100,0.05,10.78,0.7261,12.3,0.708",
      "200,0.05,10.8,0.725,12.2,0.709",
    ]);
    // an exact run, then a quantised one from its best: the exact rows get empty codec cells
    const joined = joinRefineLogs(["step 0 val 11.0 / 0.7\nstep 100 val 10.787 / 0.726", log], 0.05);
    expect(joined.valCsv.trim().split("\n").slice(0, 3)).toEqual([
      "step,density,mae_exact,ssim_exact,mae_q16,ssim_q16",
      "0,0.05,11,0.7,,",
      "100,0.05,10.787,0.726,,",
    ]);
    expect(joined.best.step).toBe(300);
  });

  it("reads a run validated at several densities: the mean picks, each density gets a curve", () => {
    const log = [
      "step 0 val 9.802 / 0.7588 (0.05: 10.703, 0.1: 8.902)",
      "step 50 l1 8.1 1.2s/step",
      "step 200 val 9.790 / 0.7590 (0.05: 10.710, 0.1: 8.870) ema 9.700 / 0.7600 (0.05: 10.650, 0.1: 8.750)",
    ].join("\n");
    const figures = parseRefineLog(log, [0.05, 0.1]);
    expect(figures.start).toEqual({ mae: 9.802, ssim: 0.7588, byDensity: { "0.05": 10.703, "0.1": 8.902 } });
    expect(figures.best).toMatchObject({ step: 200, mae: 9.7, weights: "ema", byDensity: { "0.1": 8.75 } });
    expect(figures.valCsv.trim().split("\n")).toEqual([
      "step,density,mae_exact,ssim_exact",
      "0,0.05+0.1,9.802,0.7588",
      "0,0.05,10.703,",
      "0,0.1,8.902,",
      "200,0.05+0.1,9.79,0.759",
      "200,0.05,10.71,",
      "200,0.1,8.87,",
    ]);
    // a chain whose earlier run validated at 0.05 alone keeps that run's label
    const joined = joinRefineLogs(
      ["step 0 val 11 / 0.7\nstep 100 val 10.703 / 0.726", log],
      [0.05, 0.1],
      [0.05],
    );
    // (the later run's step 0 stays: it is the start at the new densities, and the card's "before")
    expect(joined.valCsv.trim().split("\n").slice(1, 5)).toEqual([
      "0,0.05,11,0.7",
      "100,0.05,10.703,0.726",
      "100,0.05+0.1,9.802,0.7588",
      "100,0.05,10.703,",
    ]);
    expect(joined.start.mae).toBe(9.802);
    expect(joined.best.step).toBe(300);
  });

  it("refuses a log without validation", () => {
    expect(() => parseRefineLog("pool (1, 128, 128, 3)\n", 0.05)).toThrow(/no validation/);
  });
});

describe("a chain of refine.py runs", () => {
  it("follows each earlier run up to its best step, then the last run, on one step axis", () => {
    const first = [
      "step 0 val 11.1 / 0.7",
      "step 100 l1 9 1s/step",
      "step 100 val 11.0 / 0.7",
      "step 200 l1 9 1s/step",
      "step 200 val 11.05 / 0.7",
    ];
    const second = ["step 0 val 11.0 / 0.7", "step 100 l1 8.9 2s/step", "step 100 val 10.9 / 0.71"];
    const joined = joinRefineLogs([first.join("\n"), second.join("\n")], 0.05);
    expect(joined.valCsv.trim().split("\n").slice(1)).toEqual([
      "0,0.05,11.1,0.7",
      "100,0.05,11,0.7",
      "200,0.05,10.9,0.71",
    ]);
    expect(joined.trainCsv.trim().split("\n").slice(1)).toEqual(["100,9", "200,8.9"]);
    expect(joined.best).toEqual({ step: 200, mae: 10.9, ssim: 0.71, weights: "live" });
    expect(joined.steps).toBe(200);
    expect(joined.runs.map((r) => r.best.step)).toEqual([100, 100]);
  });

  it("reads a chain that goes on from a model folder through the model's own logs of its runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chain-"));
    try {
      const model = join(dir, "maskgan-x");
      mkdirSync(join(model, "refiner"), { recursive: true });
      writeFileSync(
        join(model, "card.json"),
        JSON.stringify({ refinement: { runs: [{ run: "runs/a" }, { run: "runs/b" }] } }),
      );
      writeFileSync(join(model, "refiner", "log-1.txt"), "log of a");
      writeFileSync(join(model, "refiner", "log-2.txt"), "log of b");
      const run = join(dir, "c");
      mkdirSync(run);
      writeFileSync(join(run, "log.txt"), "log of c");
      expect(await chainLogs([model, run])).toEqual([
        { run: "runs/a", text: "log of a" },
        { run: "runs/b", text: "log of b" },
        { run, text: "log of c" },
      ]);
      writeFileSync(join(model, "card.json"), "{}");
      await expect(chainLogs([model, run])).rejects.toThrow(/without a refinement/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("narrows a model's density range only inside the base's", () => {
    expect(parseRange("0.01:0.04", [0.01, 0.25])).toEqual([0.01, 0.04]);
    expect(() => parseRange("0.005:0.04", [0.01, 0.25])).toThrow(/outside the base model's range/);
    expect(parseRange("0.04:0.14", [0.04, 0.07], true)).toEqual([0.04, 0.14]);
    expect(() => parseRange("0.04:0.01", [0.01, 0.25])).toThrow(/expected MIN:MAX/);
    expect(() => parseRange("0.04", [0.01, 0.25])).toThrow(/expected MIN:MAX/);
  });
});
