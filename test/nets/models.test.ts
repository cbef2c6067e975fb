import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { analyticScores, greyOf } from "../../src/mask/analytic.ts";
import {
  critic,
  DEFAULT_ARCH,
  generatorInputs,
  hourglass,
  initHourglass,
  initWeights,
  inpaintingGenerator,
  maskGenerator,
  parameterCount,
  quantisationPlanes,
} from "../../src/nets/models.ts";
import { Rng } from "../../src/nets/ops.ts";
import { setupTf } from "./helpers.ts";

const arch = { ...DEFAULT_ARCH, width: 2, levels: 2, criticWidth: 2, criticLayers: 3 };

describe("networks", () => {
  beforeAll(setupTf);

  it("keeps known pixels exactly in the inpainting generator's output (Eq. 1)", () => {
    const weights = initWeights(arch, 3);
    const rng = new Rng(5);
    const n = 2;
    const s = 16;
    const fData = rng.fill(new Float32Array(n * s * s * 3));
    const bData = Float32Array.from({ length: n * s * s }, () => (rng.next() < 0.2 ? 1 : 0));
    const f = tf.tensor4d(fData, [n, s, s, 3]);
    const b = tf.tensor4d(bData, [n, s, s, 1]);
    const r = tf.tensor4d(rng.fill(new Float32Array(n * s * s)), [n, s, s, 1]);
    const { u, g } = inpaintingGenerator(weights, arch, f, b, r, [0.2, 0.1]);
    const ud = u.dataSync();
    const gd = g.dataSync();
    let known = 0;
    for (let p = 0; p < n * s * s; p++) {
      for (let c = 0; c < 3; c++) {
        if (bData[p]) expect(ud[p * 3 + c]).toBe(fData[p * 3 + c]);
        else expect(ud[p * 3 + c]).toBe(gd[p * 3 + c]);
      }
      known += bData[p];
    }
    expect(known).toBeGreaterThan(0);
    expect(Math.min(...gd)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...gd)).toBeLessThanOrEqual(1);
  });

  it("gives the mask generator a binary one-channel output of the image's size", () => {
    const weights = initWeights(arch, 4);
    const f = tf.randomUniform([1, 12, 20, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const r = tf.randomUniform([1, 12, 20, 1], 0, 1, "float32", 8) as tf.Tensor4D;
    const { b, c, z } = maskGenerator(weights, arch, f, r, [0.05]);
    expect(b.shape).toEqual([1, 12, 20, 1]);
    expect(z.shape).toEqual([1, 12, 20, 1]);
    for (const v of b.dataSync()) expect(v === 0 || v === 1).toBe(true);
    const cd = c.dataSync();
    const bd = b.dataSync();
    cd.forEach((v, i) => {
      expect(bd[i]).toBe(Math.floor(v + 0.5));
    });
  });

  it("with the analytic prior and a zero correction, the mask generator's logits are the analytic scores", () => {
    const a = { ...arch, analyticMask: true };
    const weights = initWeights(a, 4);
    for (const [k, v] of weights) if (k.startsWith("mask/out/")) v.assign(tf.zerosLike(v));
    const f = tf.randomUniform([2, 12, 20, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const r = tf.randomUniform([2, 12, 20, 1], 0, 1, "float32", 8) as tf.Tensor4D;
    const z = maskGenerator(weights, a, f, r, [0.05, 0.2]).z.dataSync();
    const fd = f.dataSync() as Float32Array;
    for (const [i, d] of [0.05, 0.2].entries()) {
      const expected = analyticScores(
        greyOf(fd.subarray(i * 240 * 3, (i + 1) * 240 * 3), 240, 3),
        20,
        12,
        d,
        1,
      );
      for (let p = 0; p < 240; p++) expect(z[i * 240 + p]).toBeCloseTo(expected[p], 4);
    }
  });

  it("gives the critic one score per sample with unit-norm filters, so scaling weights changes nothing", () => {
    const weights = initWeights(arch, 5);
    const u = tf.randomUniform([3, 16, 16, 3], 0, 1, "float32", 9) as tf.Tensor4D;
    const b = tf.cast(
      tf.greater(tf.randomUniform([3, 16, 16, 1], 0, 1, "float32", 10), 0.8),
      "float32",
    ) as tf.Tensor4D;
    const before = critic(weights, arch, u, b).dataSync();
    expect(before.length).toBe(3);
    for (const [name, v] of weights)
      if (name.startsWith("critic/") && name.endsWith("kernel")) v.assign(tf.mul(v, 3));
    const after = critic(weights, arch, u, b).dataSync();
    before.forEach((v, i) => {
      expect(after[i]).toBeCloseTo(v, 4);
    });
  });

  it("names every weight under its network and initialises deterministically from the seed", () => {
    const a = initWeights(arch, 11);
    const b = initWeights(arch, 11);
    expect(parameterCount(a)).toBe(
      parameterCount(a, "gen") + parameterCount(a, "mask") + parameterCount(a, "critic"),
    );
    for (const [name, v] of a)
      expect(Array.from(v.dataSync())).toEqual(Array.from((b.get(name) as tf.Variable).dataSync()));
  });
});

describe("pull-push interpolation", () => {
  beforeAll(setupTf);

  it("keeps known pixels, reproduces a constant image exactly, and fills an empty mask with grey", async () => {
    const { pullPush } = await import("../../src/nets/pullpush.ts");
    const rng = new Rng(2);
    const f = tf.tensor4d(rng.fill(new Float32Array(2 * 16 * 12 * 3)), [2, 16, 12, 3]);
    const bData = Float32Array.from({ length: 2 * 16 * 12 }, () => (rng.next() < 0.1 ? 1 : 0));
    const b = tf.tensor4d(bData, [2, 16, 12, 1]);
    const u = pullPush(tf.mul(f, b) as tf.Tensor4D, b).dataSync();
    const fd = f.dataSync();
    bData.forEach((v, p) => {
      if (v) for (let c = 0; c < 3; c++) expect(u[p * 3 + c]).toBeCloseTo(fd[p * 3 + c], 5);
    });
    const constant = tf.fill([1, 16, 16, 3], 0.3) as tf.Tensor4D;
    const sparse = tf.tensor4d(
      Float32Array.from({ length: 256 }, (_, i) => (i === 37 || i === 200 ? 1 : 0)),
      [1, 16, 16, 1],
    );
    for (const v of pullPush(tf.mul(constant, sparse) as tf.Tensor4D, sparse).dataSync())
      expect(v).toBeCloseTo(0.3, 4);
    const empty = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    for (const v of pullPush(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D, empty).dataSync())
      expect(v).toBeCloseTo(0.5, 3);
  });
});

describe("inference path", () => {
  beforeAll(setupTf);

  it("computes what the training path computes, with and without a bottleneck", () => {
    for (const bottleneck of [0, 4]) {
      const arch = { ...DEFAULT_ARCH, width: 2, levels: 2, bottleneck };
      const weights = initWeights(arch, 11);
      // plain tensors take the fused inference convolutions; variables the trainable ones
      const plain = new Map([...weights].map(([k, v]) => [k, tf.clone(v) as tf.Tensor]));
      const x = tf.randomUniform([2, 16, 16, generatorInputs(arch)], 0, 1, "float32", 1) as tf.Tensor4D;
      const trainingOut = hourglass(weights, "gen", x, arch);
      const inferenceOut = hourglass(plain, "gen", x, arch);
      const diff = tf.max(tf.abs(tf.sub(trainingOut, inferenceOut))).dataSync()[0];
      const scale = tf.max(tf.abs(trainingOut)).dataSync()[0];
      expect(scale).toBeGreaterThan(0);
      expect(diff).toBeLessThan(1e-5 * Math.max(1, scale));
      expect([...weights.keys()].some((k) => k.includes("/reduce/"))).toBe(bottleneck > 0);
    }
  });
});

describe("refiner", () => {
  beforeAll(setupTf);

  it("starts as the identity, then corrects only unknown pixels, the same on the inference path", () => {
    const base = { ...DEFAULT_ARCH, width: 2, levels: 2, bottleneck: 4 };
    const refined = { ...base, refiner: { width: 2, levels: 3 } };
    const weights = initWeights(base, 21);
    const rng = new Rng(22);
    // [u, b, b f, pp, D]: the generator's inputs less r, plus u
    initHourglass(weights, "ref", generatorInputs(base) + 2, 3, { ...base, ...refined.refiner }, () =>
      rng.next(),
    );
    const s = 16;
    const fData = rng.fill(new Float32Array(s * s * 3));
    const bData = Float32Array.from({ length: s * s }, () => (rng.next() < 0.2 ? 1 : 0));
    const f = tf.tensor4d(fData, [1, s, s, 3]);
    const b = tf.tensor4d(bData, [1, s, s, 1]);
    const r = tf.tensor4d(rng.fill(new Float32Array(s * s)), [1, s, s, 1]);
    const run = (w: ReadonlyMap<string, tf.Tensor>, a: typeof base) =>
      inpaintingGenerator(w, a, f, b, r, [0.1]).u.dataSync();
    const without = run(weights, base);
    for (const d of [1, 2, 5]) weights.get(`ref/out/d${d}/kernel`)?.assign(tf.zeros([5, 5, 4, 3]));
    expect(weights.get("ref/out/reduce/kernel")?.shape).toEqual([1, 1, 12, 4]);
    expect([...run(weights, refined)]).toEqual([...without]);
    for (const d of [1, 2, 5]) {
      weights.get(`ref/out/d${d}/kernel`)?.assign(tf.randomNormal([5, 5, 4, 3], 0, 0.3, "float32", d));
    }
    const trained = run(weights, refined);
    let changed = 0;
    for (let p = 0; p < s * s; p++) {
      for (let c = 0; c < 3; c++) {
        const v = trained[p * 3 + c];
        if (bData[p]) expect(v).toBe(fData[p * 3 + c]);
        else if (Math.abs(v - without[p * 3 + c]) > 1e-3) changed++;
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    expect(changed).toBeGreaterThan(s * s);
    const plain = new Map([...weights].map(([k, v]) => [k, tf.clone(v) as tf.Tensor]));
    const inference = run(plain, refined);
    expect(Math.max(...trained.map((v, i) => Math.abs(v - inference[i])))).toBeLessThan(1e-5);
  });

  it("reads the codec's quantiser steps when quantised: nothing with exact values, a correction with quantised ones", () => {
    expect([...quantisationPlanes(1, 1, 1, { luma: 16, chroma: 33 }).dataSync()]).toEqual([
      Math.fround(16 / 15),
      0.5,
    ]);
    expect([...quantisationPlanes(2, 1, 2).dataSync()]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const base = { ...DEFAULT_ARCH, width: 2, levels: 2, bottleneck: 4 };
    const exactArch = { ...base, refiner: { width: 2, levels: 2 } };
    const quantArch = { ...base, refiner: { width: 2, levels: 2, quantised: true } };
    const rng = new Rng(31);
    const weights = initWeights(base, 30);
    const cin = generatorInputs(base) + 2;
    initHourglass(weights, "ref", cin + 2, 3, { ...base, ...quantArch.refiner }, () => rng.next());
    for (const d of [1, 2, 5]) {
      const out = weights.get(`ref/out/d${d}/kernel`) as tf.Variable;
      out.assign(tf.randomNormal(out.shape, 0, 0.3, "float32", d));
    }
    const s = 16;
    const f = tf.tensor4d(rng.fill(new Float32Array(s * s * 3)), [1, s, s, 3]);
    const bData = Float32Array.from({ length: s * s }, () => (rng.next() < 0.2 ? 1 : 0));
    const b = tf.tensor4d(bData, [1, s, s, 1]);
    const r = tf.tensor4d(rng.fill(new Float32Array(s * s)), [1, s, s, 1]);
    const run = (
      w: ReadonlyMap<string, tf.Tensor>,
      a: typeof base,
      levels?: { luma: number; chroma: number },
    ) => inpaintingGenerator(w, a, f, b, r, [0.1], undefined, levels).u.dataSync();
    // the same weights less the step planes' input channels: the exact refiner
    const exactWeights = new Map(weights);
    for (const d of [1, 2, 5]) {
      const k = weights.get(`ref/down0/d${d}/kernel`) as tf.Tensor4D;
      exactWeights.set(
        `ref/down0/d${d}/kernel`,
        tf.variable(tf.slice(k, [0, 0, 0, 0], [5, 5, cin, k.shape[3]]), false),
      );
    }
    const exact = run(exactWeights, exactArch);
    expect([...run(weights, quantArch)]).toEqual([...exact]);
    const quantised = run(weights, quantArch, { luma: 16, chroma: 16 });
    let changed = 0;
    for (let p = 0; p < s * s; p++) {
      for (let c = 0; c < 3; c++) {
        if (bData[p]) expect(quantised[p * 3 + c]).toBe(exact[p * 3 + c]);
        else if (Math.abs(quantised[p * 3 + c] - exact[p * 3 + c]) > 1e-4) changed++;
      }
    }
    expect(changed).toBeGreaterThan(s * s);
  });
});
