import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR, readRegistry, registryEntry } from "../../src/nets/registry.ts";
import {
  float32ToFloat16,
  loadWeights,
  saveWeights,
  saveWeightsOnBase,
  sha256Hex,
} from "../../src/nets/weights.ts";
import { setupTf, tempDir } from "./helpers.ts";

describe("weights in the tfjs manifest format", () => {
  beforeAll(setupTf);

  const tensors = (): Array<[string, tf.Tensor]> => [
    [
      "gen/a/kernel",
      tf.tensor4d(
        Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => Math.sin(i)),
        [2, 2, 3, 4],
      ),
    ],
    ["gen/a/bias", tf.tensor1d([0.5, -0.25, 1e-3, 7])],
  ];

  it("round-trips float32 weights exactly, with a stable hash of the shard", async () => {
    const dir1 = tempDir("w1");
    const dir2 = tempDir("w2");
    const a = await saveWeights(dir1, tensors(), { id: "x" });
    const b = await saveWeights(dir2, tensors(), { id: "x" });
    expect(a.weightHash).toBe(b.weightHash);
    expect(a.weightHash).toBe(sha256Hex(readFileSync(join(dir1, "weights.bin"))));
    const loaded = await loadWeights(dir1);
    expect(loaded.weightHash).toBe(a.weightHash);
    for (const [name, t] of tensors()) {
      const back = loaded.tensors.get(name) as tf.Tensor;
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    const json = JSON.parse(readFileSync(join(dir1, "model.json"), "utf8"));
    expect(json.weightsManifest[0].paths).toEqual(["weights.bin"]);
    expect(json.maskcodec.weightHash).toBe(a.weightHash);
  });

  it("adds weights to a base beside it without copying the base, with the one-shard hash", async () => {
    const root = tempDir("onbase");
    const extra: Array<[string, tf.Tensor]> = [["ref/b/bias", tf.tensor1d([1, 2, 3])]];
    await saveWeights(join(root, "base"), tensors(), { id: "base" }, { float16: true });
    const whole = await saveWeights(join(root, "whole"), [...tensors(), ...extra], {}, { float16: true });
    const onBase = await saveWeightsOnBase(
      join(root, "top"),
      join(root, "base"),
      extra,
      {},
      { float16: true },
    );
    expect(onBase.bytes).toBe(3 * 2);
    expect(onBase.weightHash).toBe(whole.weightHash);
    const json = JSON.parse(readFileSync(join(root, "top", "model.json"), "utf8"));
    expect(json.weightsManifest.map((g: { paths: string[] }) => g.paths)).toEqual([
      ["../base/weights.bin"],
      ["weights.bin"],
    ]);
    const loaded = await loadWeights(join(root, "top"));
    expect(loaded.weightHash).toBe(whole.weightHash);
    expect([...loaded.tensors.keys()]).toEqual(["gen/a/kernel", "gen/a/bias", "ref/b/bias"]);
    expect(Array.from(loaded.tensors.get("ref/b/bias")?.dataSync() ?? [])).toEqual([1, 2, 3]);
    // a name of the base's would be two weights of one name
    await expect(saveWeightsOnBase(join(root, "bad"), join(root, "base"), tensors(), {})).rejects.toThrow(
      /in the base/,
    );
    // moved away from its base, the model says what is missing
    rmSync(join(root, "base"), { recursive: true });
    await expect(loadWeights(join(root, "top"))).rejects.toThrow(/keep the model beside its base/);
  });

  it("every registered model loads, its base's shard included, to the hash the registry and its card record", async () => {
    const models = readRegistry();
    expect(models.length).toBeGreaterThan(0);
    for (const m of models) {
      const folder = join(MODELS_DIR, m.id);
      const loaded = await loadWeights(folder);
      for (const t of loaded.tensors.values()) t.dispose();
      const card = JSON.parse(readFileSync(join(folder, "card.json"), "utf8"));
      expect([m.id, loaded.weightHash]).toEqual([m.id, m.weightHash]);
      expect([m.id, card.weightHash]).toEqual([m.id, m.weightHash]);
      expect(loaded.json.maskcodec.weightHash).toBe(m.weightHash);
      // the registry's entry is what torch/register.ts derives from the folder today
      const derived = await registryEntry(folder, { defaultFrom: m.defaultFrom });
      expect(derived).toEqual(m);
    }
  });

  it("stores float16 at half the size and loads it back within float16 precision", async () => {
    const dir = tempDir("w16");
    const { bytes } = await saveWeights(dir, tensors(), {}, { float16: true });
    expect(bytes).toBe((48 + 4) * 2);
    const loaded = await loadWeights(dir);
    for (const [name, t] of tensors()) {
      const back = loaded.tensors.get(name)?.dataSync() as Float32Array;
      t.dataSync().forEach((v, i) => {
        expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-3 + 1e-7);
      });
    }
  });

  it("converts float32 to the nearest float16", () => {
    expect(Array.from(float32ToFloat16(new Float32Array([0, 1, -2, 0.5, 65504, 1e9, 6e-8])))).toEqual([
      0, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001,
    ]);
    fc.assert(
      fc.property(fc.float({ min: -1000, max: 1000, noNaN: true }), (v) => {
        const h = float32ToFloat16(new Float32Array([v]))[0];
        const back = tf.io
          .decodeWeights(new Uint16Array([h]).buffer, [
            {
              name: "x",
              shape: [1],
              dtype: "float32",
              quantization: { dtype: "float16" },
            },
          ])
          .x.dataSync()[0];
        expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.abs(v) / 2048 + 6e-8);
      }),
      { numRuns: 200 },
    );
  });
});
