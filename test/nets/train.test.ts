import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ARCH } from "../../src/nets/models.ts";
import { adversarialWeight, DEFAULT_TRAIN, Trainer, type TrainOptions } from "../../src/nets/train.ts";
import { setupTf, tempDir, writeGeneratedImages } from "./helpers.ts";

let data: string;

function options(runDir: string, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...DEFAULT_TRAIN,
    arch: { ...DEFAULT_ARCH, width: 2, levels: 2, criticWidth: 2, criticLayers: 2 },
    densityMin: 0.05,
    densityMax: 0.2,
    dataDir: data,
    valDir: data,
    valSize: 16,
    valCount: 2,
    out: join(runDir, "model-x"),
    runDir,
    size: 16,
    batch: 4,
    lr: 3e-3,
    warmupSteps: 3,
    steps: 8,
    valEvery: 4,
    logEvery: 2,
    checkpointMinutes: 1000,
    ...overrides,
  };
}

describe("training", () => {
  beforeAll(async () => {
    await setupTf();
    data = await writeGeneratedImages(tempDir("data"), 4, 32);
  });

  it("lowers the reconstruction loss of a tiny model on generated images", async () => {
    const trainer = new Trainer(options(tempDir("run"), { warmupSteps: 40, steps: 40, lr: 1e-2 }));
    await trainer.setup(false);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push(trainer.step()[3]);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(0.8 * first);
  });

  it("the mask prior phase lowers the regression loss to the analytic scores", async () => {
    const trainer = new Trainer(
      options(tempDir("prior"), {
        warmupSteps: 1,
        maskPriorUntil: 31,
        steps: 31,
        lr: 1e-2,
        ditherMasks: true,
      }),
    );
    await trainer.setup(false);
    trainer.step(); // warm-up
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push(trainer.step()[1]);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(0.8 * first);
  });

  it("trains on dithered masks of exact count with the diffusion input (v2 configuration)", async () => {
    const trainer = new Trainer(
      options(tempDir("v2"), {
        arch: { ...DEFAULT_ARCH, width: 2, levels: 2, criticWidth: 2, criticLayers: 2, diffusionInput: true },
        ditherMasks: true,
        alpha: 0,
        warmupSteps: 2,
        steps: 6,
      }),
    );
    await trainer.setup(false);
    for (let i = 0; i < 6; i++) {
      const values = trainer.step();
      expect(Number.isFinite(values[3])).toBe(true);
      // exact counts: no density error in the joint phase
      if (i >= 2) expect(values[4]).toBeLessThan(0.01);
    }
  });

  it("runs the adversarial phase with finite losses, logs, validates and exports a model with a card", async () => {
    const runDir = tempDir("gan");
    const trainer = new Trainer(options(runDir));
    await trainer.setup(false);
    await trainer.run();
    expect(trainer.state.step).toBe(8);
    const log = readFileSync(join(runDir, "train-log.csv"), "utf8").trim().split("\n");
    expect(log.length).toBe(5);
    const last = log[4].split(",");
    expect(last[1]).toBe("gan");
    for (const v of last.slice(4)) expect(Number.isFinite(Number(v))).toBe(true);
    const val = readFileSync(join(runDir, "val-log.csv"), "utf8").trim().split("\n");
    expect(val.length).toBe(1 + 2 * 3); // two validations at densities 0.05, 0.1, 0.2
    const { weightHash, dir } = await trainer.export();
    const card = JSON.parse(readFileSync(join(dir, "card.json"), "utf8"));
    expect(card.weightHash).toBe(weightHash);
    expect(card.training.stepsDone).toBe(8);
    expect(existsSync(join(dir, "training.png"))).toBe(true);
    expect(existsSync(join(dir, "training.svg"))).toBe(false); // model folders keep the PNG only
  });

  it("continues from a checkpoint exactly where it stopped (--resume)", async () => {
    const straight = new Trainer(options(tempDir("straight"), { valDir: undefined }));
    await straight.setup(false);
    await straight.run();

    const runDir = tempDir("resumed");
    const first = new Trainer(options(runDir, { valDir: undefined, steps: 5 }));
    await first.setup(false);
    await first.run(); // ends with a checkpoint at step 5 (inside the adversarial phase)
    const second = new Trainer(options(runDir, { valDir: undefined, steps: 999 }));
    await second.setup(true, { steps: 8 });
    expect(second.state.step).toBe(5);
    expect(second.options.steps).toBe(8);
    await second.run();
    expect(second.state.step).toBe(8);
    for (const [name, v] of straight.weights) {
      const other = second.weights.get(name) as tf.Variable;
      expect(Array.from(other.dataSync()), name).toEqual(Array.from(v.dataSync()));
    }
    const log = readFileSync(join(runDir, "train-log.csv"), "utf8").trim().split("\n");
    expect(log.map((l) => l.split(",")[0])).toEqual(["step", "2", "4", "5", "6", "8"]);
  });

  it("starts from an exported model's weights and step with --init-from", async () => {
    const first = new Trainer(options(tempDir("init-a"), { valDir: undefined, steps: 5 }));
    await first.setup(false);
    await first.run();
    const { dir } = await first.export();
    const second = new Trainer(options(tempDir("init-b"), { valDir: undefined, initFrom: dir }));
    await second.setup(false);
    expect(second.state.step).toBe(5);
    // the log continues the model's: samples (and wall time) go on from its last row
    expect(second.state.samples).toBe(first.state.samples);
    expect(second.state.wallSeconds).toBeGreaterThan(0);
    for (const [name, v] of first.weights) {
      const a = v.dataSync();
      const b = (second.weights.get(name) as tf.Variable).dataSync();
      a.forEach((x, i) => {
        expect(Math.abs(b[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-3 + 1e-7);
      });
    }
    const other = new Trainer(
      options(tempDir("init-c"), { initFrom: dir, arch: { ...DEFAULT_ARCH, width: 3 } }),
    );
    await expect(other.setup(false)).rejects.toThrow(/architecture/);
  });

  it("warms the learning rate up after --init-from, where Adam starts fresh, and only there", async () => {
    const first = new Trainer(options(tempDir("warm-a"), { valDir: undefined, steps: 5 }));
    await first.setup(false);
    expect(first.lrFactor()).toBe(1);
    await first.run();
    expect(first.adams.gen.lr).toBe(first.options.lr);
    const { dir } = await first.export();
    const runDir = tempDir("warm-b");
    const second = new Trainer(
      options(runDir, { valDir: undefined, initFrom: dir, lrWarmup: 4, steps: 7, checkpointMinutes: 0 }),
    );
    await second.setup(false);
    expect(second.lrFactor()).toBe(0.25);
    second.step();
    expect(second.adams.gen.lr).toBeCloseTo(second.options.lr * 0.25, 12);
    expect(second.adams.mask.lr).toBeCloseTo(second.options.lr * 0.25, 12);
    expect(second.lrFactor()).toBe(0.5);
    await second.run();
    // resumed from the checkpoint, the warm-up goes on from its place (step 7: the 3rd step after the start)
    const resumed = new Trainer(options(runDir, { valDir: undefined, lrWarmup: 4, steps: 9 }));
    await resumed.setup(true, { steps: 9 });
    expect(resumed.state.step).toBe(7);
    expect(resumed.lrFactor()).toBe(0.75);
    resumed.step();
    expect(resumed.lrFactor()).toBe(1);
  });

  it("gains a bottleneck with --init-from, fitted to the source model's kernels and activations", async () => {
    const first = new Trainer(options(tempDir("bn-a"), { valDir: undefined, steps: 5 }));
    await first.setup(false);
    await first.run();
    const { dir } = await first.export();
    const arch = { ...options("").arch, bottleneck: 4 };
    const fitted = new Trainer(options(tempDir("bn-b"), { valDir: undefined, initFrom: dir, arch }));
    await fitted.setup(false);
    const fresh = new Trainer(options(tempDir("bn-c"), { valDir: undefined, arch }));
    await fresh.setup(false);
    expect([...fitted.weights.keys()].filter((k) => k.endsWith("/reduce/kernel")).sort()).toEqual(
      ["gen/out", "gen/up0", "gen/up1", "mask/out", "mask/up0", "mask/up1"].map((b) => `${b}/reduce/kernel`),
    );
    // every weight the two architectures share is the source's
    for (const [name, v] of fitted.weights) {
      const source = first.weights.get(name);
      if (!source || /\/(up\d|out)\/d\d\/kernel$/.test(name)) continue;
      const a = source.dataSync();
      // (exported as float16)
      v.dataSync().forEach((x, i) => {
        expect(Math.abs(x - a[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 1e-3 + 1e-7);
      });
    }
    // the fitted generators reproduce the source's outputs far better than an unfitted bottleneck
    const { inpaintingGenerator, maskGenerator } = await import("../../src/nets/models.ts");
    const tfc = await import("@tensorflow/tfjs-core");
    const err = (t: Trainer) =>
      tfc.tidy(() => {
        const f = tfc.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3) as tf.Tensor4D;
        const r = tfc.randomUniform([2, 16, 16, 1], 0, 1, "float32", 4) as tf.Tensor4D;
        const b = tfc.cast(
          tfc.greater(tfc.randomUniform([2, 16, 16, 1], 0, 1, "float32", 5), 0.8),
          "float32",
        ) as tf.Tensor4D;
        const d = [0.1, 0.1];
        const refMask = maskGenerator(first.weights, first.options.arch, f, r, d).z;
        const refGen = inpaintingGenerator(first.weights, first.options.arch, f, b, r, d).u;
        const zMask = maskGenerator(t.weights, arch, f, r, d).z;
        const uGen = inpaintingGenerator(t.weights, arch, f, b, r, d).u;
        return [
          tfc.norm(tfc.sub(zMask, refMask)).dataSync()[0] / tfc.norm(refMask).dataSync()[0],
          tfc.norm(tfc.sub(uGen, refGen)).dataSync()[0] / tfc.norm(refGen).dataSync()[0],
        ];
      });
    // a model with a bottleneck cannot seed one without (its narrowed kernels would not fit)
    const back = new Trainer(
      options(tempDir("bn-d"), { valDir: undefined, initFrom: (await fitted.export()).dir }),
    );
    await expect(back.setup(false)).rejects.toThrow(/architecture/);
    const [fitMask, fitGen] = err(fitted);
    const [freshMask, freshGen] = err(fresh);
    expect(fitMask).toBeLessThan(0.5 * freshMask);
    expect(fitGen).toBeLessThan(0.5 * freshGen);
  });

  /** A trainer after one joint step (alpha 0, dithered masks, diffusion input) with `extra` options. */
  async function afterOneJointStep(folder: string, extra: Partial<TrainOptions>): Promise<Trainer> {
    const t = new Trainer(
      options(tempDir(folder), {
        valDir: undefined,
        warmupSteps: 0,
        alpha: 0,
        ditherMasks: true,
        arch: { ...options("").arch, diffusionInput: true },
        ...extra,
      }),
    );
    await t.setup(false);
    const losses = t.step();
    for (const v of losses.slice(0, 2)) expect(Number.isFinite(v)).toBe(true);
    return t;
  }

  /** Largest absolute difference per weight between two trainers' weights. */
  function weightDifferences(a: Trainer, b: Trainer): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, v] of a.weights) {
      const x = v.dataSync();
      const y = (b.weights.get(name) as tf.Variable).dataSync();
      out.set(
        name,
        Array.from(x).reduce((m, xi, i) => Math.max(m, Math.abs(xi - y[i])), 0),
      );
    }
    return out;
  }

  it("with --ssim-weight, one GAN step moves both generators differently; validation reports SSIM", async () => {
    const plain = await afterOneJointStep("ssim", { ssimWeight: 0, valDir: data });
    const weighted = await afterOneJointStep("ssim", { ssimWeight: 1, valDir: data });
    let genDiff = 0;
    let maskDiff = 0;
    for (const [name, d] of weightDifferences(plain, weighted)) {
      if (name.startsWith("gen/")) genDiff = Math.max(genDiff, d);
      if (name.startsWith("mask/")) maskDiff = Math.max(maskDiff, d);
    }
    expect(genDiff).toBeGreaterThan(0);
    expect(maskDiff).toBeGreaterThan(0);
    for (const p of weighted.validate()?.perDensity ?? []) {
      expect(p.ssimExact).toBeGreaterThan(-1);
      expect(p.ssimExact).toBeLessThanOrEqual(1);
    }
    expect(weighted.validate()?.perDensity.length).toBe(3);
  });

  it("weighs the critic against the L1 norm summed over the crop, as the paper's Eq. (3)", async () => {
    expect(adversarialWeight({ alpha: 0.005, size: 64 })).toBeCloseTo(0.005 / 12288, 15);
    const trainer = new Trainer(options(tempDir("alpha"), { valDir: undefined, alpha: 3, warmupSteps: 0 }));
    await trainer.setup(false);
    const [lossG, , lossC, l1255, , , dFake] = trainer.step();
    expect(Number.isFinite(lossC)).toBe(true);
    expect(dFake).not.toBe(0);
    // the logged generator loss is the optimised one: mean L1 − α / (16² · 3) · d(u, b)
    expect(lossG).toBeCloseTo(l1255 / 255 - (3 / (16 * 16 * 3)) * dFake, 5);
  });

  it("leaves the critic out (and untouched) with alpha = 0", async () => {
    const trainer = new Trainer(
      options(tempDir("alpha0"), { valDir: undefined, alpha: 0, warmupSteps: 1, steps: 3 }),
    );
    await trainer.setup(false);
    const before = (trainer.weights.get("critic/f0/kernel") as tf.Variable).dataSync().slice();
    trainer.step();
    const values = trainer.step();
    expect(Number.isNaN(values[2])).toBe(true);
    expect(Number.isFinite(values[0]) && Number.isFinite(values[1]) && Number.isFinite(values[4])).toBe(true);
    expect(Array.from((trainer.weights.get("critic/f0/kernel") as tf.Variable).dataSync())).toEqual(
      Array.from(before),
    );
  });

  it("trains the mask generator on exact-count masks with --exact-masks", async () => {
    const trainer = new Trainer(
      options(tempDir("exact"), { valDir: undefined, alpha: 0, warmupSteps: 1, steps: 4, exactMasks: true }),
    );
    await trainer.setup(false);
    trainer.step();
    const before = (trainer.weights.get("mask/out/d1/kernel") as tf.Variable).dataSync().slice();
    const values = trainer.step();
    // |mean(b) - D| is only the rounding of D * 256 pixels to an integer count
    expect(values[4]).toBeLessThanOrEqual(0.5 / 256 + 1e-6);
    const after = (trainer.weights.get("mask/out/d1/kernel") as tf.Variable).dataSync();
    expect(Array.from(after)).not.toEqual(Array.from(before));
  });

  it("refuses the cpu backend for training", async () => {
    const trainer = new Trainer(options(tempDir("cpu"), { tfBackend: "cpu" }));
    await expect(trainer.setup(false)).rejects.toThrow(/cpu backend/);
  });
});
