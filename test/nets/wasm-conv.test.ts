import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ARCH, hourglass, inpaintingGenerator } from "../../src/nets/models.ts";
import { Rng } from "../../src/nets/ops.ts";
import { MODELS_DIR } from "../../src/nets/registry.ts";
import { convKernels, setConvKernels, withArithmetic } from "../../src/nets/wasm-conv.ts";
import { loadWeights } from "../../src/nets/weights.ts";
import { setupTf } from "./helpers.ts";

// The kernels must compute what tfjs' wasm backend computes, bit for bit: the decoded image of a gan stream
// may not depend on which path ran (the golden gan streams check the whole decoder too).

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** The number of elements that differ (±0 count as equal, as nothing downstream can tell them apart). */
function differences(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

/** The weights and architecture of a shipped refined model. */
async function shippedModel() {
  const { json, tensors } = await loadWeights(join(MODELS_DIR, "maskgan-v11-d05"));
  return { tensors, arch: { ...DEFAULT_ARCH, ...(json.maskcodec.arch as Partial<typeof DEFAULT_ARCH>) } };
}

/** An image f in [0, 1], a mask b of about `density`, and noise r, drawn from rng in that order. */
function generatorInputs(rng: Rng, h: number, w: number, density: number) {
  const f = tf.tensor4d(
    Float32Array.from({ length: h * w * 3 }, () => rng.next()),
    [1, h, w, 3],
  );
  const b = tf.tensor4d(
    Float32Array.from({ length: h * w }, () => (rng.next() < density ? 1 : 0)),
    [1, h, w, 1],
  );
  const r = tf.tensor4d(random(rng, h * w), [1, h, w, 1]);
  return { f, b, r };
}

describe("WebAssembly convolution kernels", () => {
  beforeAll(setupTf);
  afterEach(() => setConvKernels(true));

  it("are available on the wasm backend", () => {
    expect(tf.getBackend()).toBe("wasm");
    expect(convKernels()).not.toBeNull();
  });

  // every (cin, cout, kernel size) the width-4 networks use, at sizes with interior and edge pixels, and
  // images narrower than a kernel's reach (all edge)
  const shapes: [number, number, number][] = [
    [9, 4, 5],
    [11, 4, 5],
    [5, 4, 5],
    [12, 8, 5],
    [24, 16, 5],
    [48, 16, 5],
    [8, 8, 5],
    [8, 4, 5],
    [8, 3, 5],
    [8, 1, 5],
    [24, 8, 1],
    [48, 8, 1],
    [96, 8, 1],
    [7, 6, 5],
  ];
  for (const [cin, cout, k] of shapes) {
    it(`compute tfjs' values: ${cin} -> ${cout}, ${k}x${k}`, () => {
      const kernels = convKernels();
      if (!kernels) throw new Error("no kernels");
      const rng = new Rng(cin * 100 + cout * 10 + k);
      for (const [h, w] of [
        [13, 29],
        [6, 9],
      ]) {
        const x = tf.tensor4d(random(rng, 2 * h * w * cin), [2, h, w, cin]);
        const dilations = k === 1 ? [1] : [1, 2, 5];
        const specs = dilations.map((dilation) => ({
          kernel: tf.tensor4d(random(rng, k * k * cin * cout), [k, k, cin, cout]),
          bias: k === 1 ? undefined : tf.tensor1d(random(rng, cout)),
          dilation,
        }));
        const tfjs = specs.map((s) =>
          s.bias
            ? tf.fused.conv2d({
                x,
                filter: s.kernel,
                strides: 1,
                pad: "same",
                dilations: s.dilation,
                bias: s.bias,
              })
            : tf.conv2d(x, s.kernel, 1, "same"),
        );
        if (k === 1) {
          expect(differences(kernels.run(x, specs, "linear"), tfjs[0])).toBe(0);
          continue;
        }
        expect(differences(kernels.run(x, specs, "elu"), tf.elu(tf.concat(tfjs, 3)))).toBe(0);
        expect(differences(kernels.run(x, specs, "sum"), tf.add(tf.add(tfjs[0], tfjs[1]), tfjs[2]))).toBe(0);
      }
    });
  }

  /**
   * What the 16-bit products can be off by, per output channel, from the float values: each input moves by at
   * most half its quantisation step (max|x| / 32767 / 2) and each weight by half of its own (1 / scale / 2,
   * with the scale wasm-conv.ts chooses), so the sum moves by at most max|x| · (Σ|w| / 65534 + taps / (2·scale)),
   * and ELU (1-Lipschitz) keeps that bound; plus float rounding, a millionth of the output's magnitude.
   */
  function quantisationBound(x: Float32Array, kernel: Float32Array, k: number, cin: number, cout: number) {
    const maxX = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return Array.from({ length: cout }, (_, o) => {
      let sum = 0;
      let largest = 0;
      let largestRow = 0;
      for (let ky = 0; ky < k; ky++) {
        let row = 0;
        for (let t = ky * k; t < (ky + 1) * k; t++) {
          for (let c = 0; c < cin; c++) {
            const m = Math.abs(kernel[(t * cin + c) * cout + o]);
            row += m;
            largest = Math.max(largest, m);
          }
        }
        sum += row;
        largestRow = Math.max(largestRow, row);
      }
      const scale = Math.min(16383 / largest, (65536 - k * cin) / largestRow);
      return maxX * (sum / 65534 + (k * k * cin) / (2 * scale));
    });
  }

  // and 12 outputs, which no network has: the kernels' one-pixel path for other widths
  for (const [cin, cout, k] of [...shapes, [6, 12, 5] as [number, number, number]]) {
    it(`in 16-bit arithmetic stay within the quantisation's bound of the float values: ${cin} -> ${cout}, ${k}x${k}`, () => {
      const kernels = convKernels();
      if (!kernels) throw new Error("no kernels");
      const rng = new Rng(cin * 100 + cout * 10 + k + 1);
      for (const [h, w] of [
        [13, 29],
        [6, 9],
      ]) {
        const xs = random(rng, 2 * h * w * cin);
        const x = tf.tensor4d(xs, [2, h, w, cin]);
        const dilations = k === 1 ? [1] : [1, 2, 5];
        const specs = dilations.map((dilation) => ({
          kernel: tf.tensor4d(random(rng, k * k * cin * cout), [k, k, cin, cout]),
          bias: k === 1 ? undefined : tf.tensor1d(random(rng, cout)),
          dilation,
        }));
        // the bound of one branch; the sum of three branches adds theirs; each sample has its own max|x|
        const bounds = specs.map((s) => {
          const perSample = [0, 1].map((n) =>
            quantisationBound(
              xs.subarray(n * h * w * cin, (n + 1) * h * w * cin),
              s.kernel.dataSync() as Float32Array,
              k,
              cin,
              cout,
            ),
          );
          return perSample[0].map((b, o) => Math.max(b, perSample[1][o]));
        });
        const modes: ("elu" | "sum" | "linear")[] = k === 1 ? ["linear"] : ["elu", "sum"];
        for (const mode of modes) {
          const float = kernels.run(x, specs, mode).dataSync();
          const quantised = withArithmetic("int16", () => kernels.run(x, specs, mode)).dataSync();
          const total = mode === "sum" ? cout : cout * specs.length;
          let exact = 0;
          for (let i = 0; i < float.length; i++) {
            const channel = i % total;
            const bound =
              mode === "sum"
                ? bounds.reduce((sum, b) => sum + b[channel], 0)
                : bounds[Math.floor(channel / cout)][channel % cout];
            const error = Math.abs(float[i] - quantised[i]);
            expect(error).toBeLessThanOrEqual(bound + 1e-6 * Math.abs(float[i]) + 1e-6);
            if (float[i] === quantised[i]) exact++;
          }
          // it is another arithmetic: most values differ in their last bits
          expect(exact).toBeLessThan(float.length / 2);
        }
      }
    });
  }

  it("in 16-bit arithmetic do not overflow at the largest inputs and weights their bounds allow", () => {
    const kernels = convKernels();
    if (!kernels) throw new Error("no kernels");
    // every input at max|x| and every weight of the same sign: each row's sum of products is the largest
    // the scale permits (just under 2^31); a wrapped 32-bit sum would flip its sign
    for (const [cin, cout] of [
      [48, 16],
      [9, 4],
    ]) {
      const [h, w, k] = [24, 24, 5];
      const x = tf.fill([1, h, w, cin], 3.5) as tf.Tensor4D;
      const specs = [1, 2, 5].map((dilation) => ({
        kernel: tf.fill([k, k, cin, cout], dilation === 2 ? -0.25 : 0.25) as tf.Tensor4D,
        bias: tf.zeros([cout]),
        dilation,
      }));
      const quantised = withArithmetic("int16", () => kernels.run(x, specs, "sum")).dataSync();
      const reference = kernels.run(x, specs, "sum").dataSync();
      for (let i = 0; i < reference.length; i++) {
        expect(Math.abs(quantised[i] - reference[i])).toBeLessThanOrEqual(
          1e-3 * Math.abs(reference[i]) + 1e-3,
        );
      }
      // the centre sees every tap of every branch: (0.25 − 0.25 + 0.25) · 3.5 · 25 · cin
      expect(reference[(12 * w + 12) * cout]).toBeCloseTo(0.25 * 3.5 * 25 * cin, 3);
      expect(quantised[(12 * w + 12) * cout]).toBeCloseTo(0.25 * 3.5 * 25 * cin, 0);
    }
  });

  it("project an upsampled block output joined to its skip as tfjs' resize, concat and 1 × 1 convolution do", () => {
    const kernels = convKernels();
    if (!kernels) throw new Error("no kernels");
    const rng = new Rng(3);
    for (const [cl, cs, cout] of [
      [12, 12, 8],
      [24, 24, 8],
      [5, 3, 6],
    ]) {
      const low = tf.tensor4d(random(rng, 2 * 5 * 7 * cl), [2, 5, 7, cl]);
      const skip = tf.tensor4d(random(rng, 2 * 10 * 14 * cs), [2, 10, 14, cs]);
      const kernel = tf.tensor4d(random(rng, (cl + cs) * cout), [1, 1, cl + cs, cout]);
      const joined = tf.concat([tf.image.resizeNearestNeighbor(low, [10, 14]), skip], 3) as tf.Tensor4D;
      expect(
        differences(kernels.projectUpsampled(low, skip, kernel), tf.conv2d(joined, kernel, 1, "same")),
      ).toBe(0);
    }
  });

  it("concatenate along the channels as tf.concat does", () => {
    const kernels = convKernels();
    if (!kernels) throw new Error("no kernels");
    const rng = new Rng(4);
    const parts = [1, 3, 3, 2, 1].map((c) => tf.tensor4d(random(rng, 2 * 6 * 7 * c), [2, 6, 7, c]));
    expect(differences(kernels.concat(parts), tf.concat(parts, 3))).toBe(0);
  });

  it("convolve parts as their concatenation, without making it, in both arithmetics", () => {
    const kernels = convKernels();
    if (!kernels) throw new Error("no kernels");
    const rng = new Rng(9);
    const shape = [2, 9, 11] as const;
    // the generator's first block (1 + 1 + 3 + 3 + 1 = 9 channels, odd) and an even total, two samples; one
    // part holds the largest magnitude and, for the 16-bit check, a NaN (quantised to 0 by both paths; in
    // float32 it makes NaN outputs, which `differences` counts as unequal, so that check has a number there)
    for (const widths of [
      [1, 1, 3, 3, 1],
      [3, 1, 3, 3, 1, 1],
    ]) {
      const values = widths.map((c) => random(rng, 2 * 9 * 11 * c));
      values[2][5] = 7.5;
      const cin = widths.reduce((a, b) => a + b, 0);
      const specs = [1, 2].map((dilation) => ({
        kernel: tf.tensor4d(random(rng, 25 * cin * 4), [5, 5, cin, 4]),
        bias: tf.tensor1d(random(rng, 4)),
        dilation,
      }));
      for (const [mode, odd] of [
        ["int16", Number.NaN],
        ["float32", 0.25],
      ] as const) {
        values[2][17] = odd;
        const parts = widths.map((c, i) => tf.tensor4d(values[i], [...shape, c]));
        const joined = tf.concat(parts, 3) as tf.Tensor4D;
        withArithmetic(mode, () => {
          const fromParts = kernels.runParts(parts, specs, "elu");
          expect(differences(fromParts, kernels.run(joined, specs, "elu"))).toBe(0);
        });
      }
    }
  });

  it("leave a shipped model's inpainting exactly as tfjs computes it", async () => {
    const { tensors, arch } = await shippedModel();
    const rng = new Rng(7);
    const [h, w] = [48, 72];
    const { f, b, r } = generatorInputs(rng, h, w, 0.05);
    const run = () => inpaintingGenerator(tensors, arch, f, b, r, [0.05]).u;
    const withKernels = run();
    setConvKernels(false);
    const withTfjs = run();
    expect(differences(withKernels, withTfjs)).toBe(0);
    // the mask generator's hourglass (its last block has one output channel)
    setConvKernels(true);
    const x = tf.tensor4d(random(rng, h * w * 5), [1, h, w, 5]);
    const maskWithKernels = hourglass(tensors, "mask", x, arch);
    setConvKernels(false);
    expect(differences(maskWithKernels, hourglass(tensors, "mask", x, arch))).toBe(0);
  });

  it("leave differentiated inference (the gan backend's tonal optimisation) to tfjs' ops", async () => {
    const { tensors, arch } = await shippedModel();
    const rng = new Rng(8);
    const [h, w] = [32, 40];
    const { f, b, r } = generatorInputs(rng, h, w, 0.1);
    const target = tf.tensor4d(
      Float32Array.from({ length: h * w * 3 }, () => rng.next()),
      [1, h, w, 3],
    );
    const loss = (x: tf.Tensor) =>
      tf.sum(tf.square(tf.sub(inpaintingGenerator(tensors, arch, x as tf.Tensor4D, b, r, [0.05]).u, target)));
    const withKernelsOn = tf.grad(loss)(f);
    setConvKernels(false);
    const tfjsOnly = tf.grad(loss)(f);
    expect(differences(withKernelsOn, tfjsOnly)).toBe(0);
    expect(tf.max(tf.abs(tfjsOnly)).dataSync()[0]).toBeGreaterThan(0);
  });

  it("are built from the committed source (scripts/build-wasm.sh)", () => {
    const dir = join(import.meta.dirname, "..", "..", "src", "nets", "wasm");
    const source = readFileSync(join(dir, "conv-kernels.c"));
    const recorded = readFileSync(join(dir, "conv-kernels.c.sha256"), "utf8").trim();
    expect(createHash("sha256").update(source).digest("hex")).toBe(recorded);
  });
});
