import { cpSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createImage, maskCount, targetCount } from "../../src/image/types.ts";
import { type GanModel, loadGanModel, padReflect } from "../../src/nets/gan-backend.ts";
import { DEFAULT_ARCH } from "../../src/nets/models.ts";
import { reflect } from "../../src/nets/padding.ts";
import { DEFAULT_TRAIN, Trainer } from "../../src/nets/train.ts";
import { setupTf, tempDir, writeGeneratedImages } from "./helpers.ts";

let model: GanModel;
let modelDir: string;

function image(width: number, height: number, channels: 1 | 3, seed: number) {
  const img = createImage(width, height, channels);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (Math.sin(i * 0.37 + seed) * 0.5 + 0.5) * 255;
  return img;
}

describe("the gan backend", () => {
  beforeAll(async () => {
    await setupTf();
    const data = await writeGeneratedImages(tempDir("gdata"), 2, 24);
    const runDir = tempDir("grun");
    const trainer = new Trainer({
      ...DEFAULT_TRAIN,
      arch: { ...DEFAULT_ARCH, width: 2, levels: 2, criticWidth: 2, criticLayers: 2 },
      densityMin: 0.02,
      densityMax: 0.2,
      dataDir: data,
      out: join(runDir, "tiny-model"),
      runDir,
      size: 16,
      batch: 2,
      steps: 2,
      warmupSteps: 1,
      checkpointMinutes: 1000,
    });
    await trainer.setup(false);
    await trainer.run();
    modelDir = (await trainer.export()).dir;
    model = await loadGanModel(modelDir, { tfBackend: "wasm" });
  });

  it("gan+nlpe: the network's mask improved by NLPE, same count, lower diffusion error", async () => {
    const { encoderSetup } = await import("../../src/backends.ts");
    const { inpaintDiffusion } = await import("../../src/baselines/diffusion.ts");
    const img = image(40, 32, 3, 4);
    const setup = (mask: "gan" | "gan+nlpe") =>
      encoderSetup({ backend: "gan", mask, density: 0.08, seed: 1, model: modelDir });
    const plain = await (await setup("gan")).selector.select(img, 0.08);
    const refinedSetup = await setup("gan+nlpe");
    expect(refinedSetup.selector.id).toBe("gan+nlpe");
    const refined = await refinedSetup.selector.select(img, 0.08);
    expect(maskCount(refined)).toBe(maskCount(plain));
    const err = (m: typeof plain) => {
      const u = inpaintDiffusion(img, m).image.data;
      let e = 0;
      for (let i = 0; i < u.length; i++) e += Math.abs(u[i] - img.data[i]);
      return e / u.length;
    };
    expect(err(refined)).toBeLessThan(err(plain));
  });

  it("names itself after the model folder and reports the weights' hash and density range", () => {
    expect(model.id).toBe("tiny-model");
    expect(model.weightHash).toMatch(/^[0-9a-f]{64}$/);
    expect(model.densityRange).toEqual([0.02, 0.2]);
    expect(model.selector().id).toBe("gan");
    expect(model.inpainter().id).toBe("gan:tiny-model");
  });

  it("selects exactly the target number of pixels for any image size and density", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 29 }),
        fc.constantFrom<1 | 3>(1, 3),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        async (w, h, c, density) => {
          const mask = await model.selector().select(image(w, h, c, w + h), density);
          expect(mask.width).toBe(w);
          expect(mask.height).toBe(h);
          expect(maskCount(mask)).toBe(targetCount(w * h, density));
        },
      ),
      { numRuns: 15 },
    );
  });

  it("keeps the known pixels exactly and fills the rest on the 0-255 scale", async () => {
    for (const channels of [1, 3] as const) {
      const img = image(23, 17, channels, 3);
      const mask = await model.selector().select(img, 0.1);
      const out = await model.inpainter().inpaint(img, mask);
      expect(out.channels).toBe(channels);
      for (let p = 0; p < 23 * 17; p++) {
        for (let c = 0; c < channels; c++) {
          const v = out.data[p * channels + c];
          if (mask.data[p]) expect(v).toBe(img.data[p * channels + c]);
          else expect(v >= 0 && v <= 255).toBe(true);
        }
      }
    }
  });

  it("tonal optimisation: lower reconstruction error, only mask pixels changed, values in range", async () => {
    const { mae } = await import("../../src/image/metrics.ts");
    // 23x17 is not a multiple of the stride: the optimiser must fold the reflection padding's gradient back
    for (const channels of [1, 3] as const) {
      const img = image(23, 17, channels, 5);
      const mask = await model.selector().select(img, 0.1);
      const values = await model.tonalOptimiser({ iterations: 8 }).optimise(img, mask);
      const before = mae(img, await model.inpainter().inpaint(img, mask));
      const after = mae(img, await model.inpainter().inpaint(values, mask));
      expect(after).toBeLessThan(before);
      let changed = 0;
      for (let p = 0; p < 23 * 17; p++) {
        for (let c = 0; c < channels; c++) {
          const i = p * channels + c;
          if (!mask.data[p]) expect(values.data[i]).toBe(img.data[i]);
          else {
            expect(values.data[i] >= 0 && values.data[i] <= 255).toBe(true);
            if (Math.abs(values.data[i] - img.data[i]) > 1e-3) changed++;
          }
        }
      }
      expect(changed).toBeGreaterThan(0);
    }
  });

  it("tonal optimisation refuses an image over its pixel limit before any work", async () => {
    const { GAN_TONAL_MAX_PIXELS } = await import("../../src/nets/gan-tonal.ts");
    const { createMask } = await import("../../src/image/types.ts");
    const width = 1024;
    const height = GAN_TONAL_MAX_PIXELS / width + 1;
    const big = createImage(width, height, 1);
    const mask = createMask(width, height);
    mask.data[0] = 1;
    await expect(model.tonalOptimiser().optimise(big, mask)).rejects.toThrow(/up to 131072 pixels/);
  });

  it("encodes with --tonal on the gan backend, and the stream decodes without it", async () => {
    const { encoderSetup } = await import("../../src/backends.ts");
    const { decodeBytes, encodeImage } = await import("../../src/codec/codec.ts");
    const img = image(24, 16, 3, 2);
    const setup = await encoderSetup({
      backend: "gan",
      mask: "gan",
      density: 0.1,
      seed: 1,
      model: modelDir,
      tonal: true,
    });
    expect(setup.tonal).toBeDefined();
    const encoded = await encodeImage(img, {
      selector: setup.selector,
      density: 0.1,
      backend: "gan",
      modelId: setup.modelId,
      weightHash: setup.weightHash,
      tonal: setup.tonal,
    });
    const decoded = await decodeBytes(encoded.bytes, async () => model.inpainter());
    expect(Array.from(decoded.mask.data)).toEqual(Array.from(encoded.mask.data));
    expect(decoded.image.width).toBe(24);
  });

  it("tonal optimisation for a coarse quantiser lowers the decoded error", async () => {
    const { decodeBytes, encodeImage } = await import("../../src/codec/codec.ts");
    const { mae } = await import("../../src/image/metrics.ts");
    const img = image(24, 16, 3, 7);
    const mask = await model.selector().select(img, 0.15);
    const decodedError = async (tonal?: ReturnType<GanModel["tonalOptimiser"]>) => {
      const encoded = await encodeImage(img, {
        selector: { id: "gan", select: async () => mask },
        density: 0.15,
        backend: "gan",
        modelId: model.id,
        weightHash: model.weightHash,
        quantiser: { lumaLevels: 6, chromaLevels: 6 },
        tonal,
      });
      return mae(img, (await decodeBytes(encoded.bytes, async () => model.inpainter())).image);
    };
    expect(await decodedError(model.tonalOptimiser({ iterations: 10 }))).toBeLessThan(await decodedError());
  });

  it("is deterministic: the same image gives the same mask and reconstruction", async () => {
    const img = image(20, 12, 3, 9);
    const a = await model.selector().select(img, 0.05);
    const b = await model.selector().select(img, 0.05);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const ua = await model.inpainter().inpaint(img, a);
    const ub = await model.inpainter().inpaint(img, a);
    expect(Array.from(ua.data)).toEqual(Array.from(ub.data));
  });

  it("loads a model folder once per process, so repeated loads do not pile up weights in memory", async () => {
    const before = tf.memory().numTensors;
    const again = await loadGanModel(modelDir, { tfBackend: "wasm" });
    expect(again).toBe(model);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("pads by reflection to a multiple of the stride", () => {
    const padded = padReflect(Float32Array.of(1, 2, 3), 3, 1, 1, 4);
    expect(padded.width).toBe(4);
    expect(padded.height).toBe(4);
    expect(Array.from(padded.data.subarray(0, 4))).toEqual([1, 2, 3, 2]);
    expect(Array.from(padReflect(Uint8Array.of(5), 1, 1, 1, 2).data)).toEqual([5, 5, 5, 5]);
    // three channels, both sides padded: every value where the reflected index says
    const [w, h, c] = [13, 7, 3];
    const data = Float32Array.from({ length: w * h * c }, (_, i) => i * 0.5);
    const out = padReflect(data, w, h, c, 8);
    expect([out.width, out.height]).toEqual([16, 8]);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) {
        for (let k = 0; k < c; k++) {
          expect(out.data[(y * 16 + x) * c + k]).toBe(data[(reflect(y, h) * w + reflect(x, w)) * c + k]);
        }
      }
    }
    // nothing to pad: float data comes back as it is
    const even = new Float32Array(16 * 8 * 3);
    expect(padReflect(even, 16, 8, 3, 8).data).toBe(even);
  });

  it("refuses a folder without a model", async () => {
    const dir = tempDir("nomodel");
    await expect(loadGanModel(dir)).rejects.toThrow(/Cannot read model/);
    const partial = tempDir("partial");
    cpSync(join(modelDir, "model.json"), join(partial, "model.json"));
    await expect(loadGanModel(partial)).rejects.toThrow();
  });
});

describe("dithered selection", () => {
  it("keeps exactly count pixels for any scores", async () => {
    const { ditherScores } = await import("../../src/mask/dither.ts");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 900, maxLength: 900 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (w, h, values, fraction) => {
          const scores = Float32Array.from(values.slice(0, w * h));
          const count = Math.round(fraction * w * h);
          const mask = ditherScores(scores, w, h, count);
          expect(mask.reduce((a, b) => a + b, 0)).toBe(count);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("spreads the pixels of a flat score map instead of clustering them", async () => {
    const { ditherScores } = await import("../../src/mask/dither.ts");
    const mask = ditherScores(new Float32Array(64 * 64), 64, 64, 164); // 4%
    // every 16x16 block gets close to its share (4% of 256 = ~10)
    for (let by = 0; by < 4; by++) {
      for (let bx = 0; bx < 4; bx++) {
        let n = 0;
        for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) n += mask[(by * 16 + y) * 64 + bx * 16 + x];
        expect(n).toBeGreaterThanOrEqual(7);
        expect(n).toBeLessThanOrEqual(14);
      }
    }
  });

  it("is offered by the model's selector with the exact count", async () => {
    const mask = await model.selector("dither").select(image(31, 19, 3, 1), 0.07);
    expect(maskCount(mask)).toBe(targetCount(31 * 19, 0.07));
    const ordered = await model.selector("ordered").select(image(31, 19, 3, 1), 0.07);
    expect(maskCount(ordered)).toBe(targetCount(31 * 19, 0.07));
    expect(() => model.selector("nope" as never)).toThrow(/Unknown gan mask selection/);
  });
});
