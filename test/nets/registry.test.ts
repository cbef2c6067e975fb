import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultModel,
  defaultModelDir,
  MODELS_DIR,
  modelFiles,
  type RegisteredModel,
  readRegistry,
  registeredModelDir,
} from "../../src/nets/registry.ts";
import { tempDir } from "./helpers.ts";

function entry(id: string, defaultFrom?: number): RegisteredModel {
  return {
    id,
    ...(defaultFrom === undefined ? {} : { defaultFrom }),
    densityRange: [0.01, 0.25],
    baseShards: [],
    weightHash: "0".repeat(64),
    figures: { validation: "", perDensity: [] },
  };
}

function registry(models: RegisteredModel[]): string {
  const root = tempDir("registry");
  writeFileSync(join(root, "registry.json"), JSON.stringify({ models }));
  return root;
}

describe("the model registry", () => {
  it("picks the default whose range starts at or below the density, up to the next one", () => {
    const root = registry([entry("lo", 0), entry("mid", 0.04), entry("hi", 0.14), entry("base")]);
    expect(defaultModelDir(0.005, root)).toBe(join(root, "lo"));
    expect(defaultModelDir(0.0399, root)).toBe(join(root, "lo"));
    expect(defaultModelDir(0.04, root)).toBe(join(root, "mid"));
    expect(defaultModelDir(0.1, root)).toBe(join(root, "mid"));
    expect(defaultModelDir(0.14, root)).toBe(join(root, "hi"));
    expect(defaultModelDir(1, root)).toBe(join(root, "hi"));
  });

  it("ignores a model folder that is not registered", () => {
    const root = registry([entry("only", 0)]);
    mkdirSync(join(root, "maskgan-v99"));
    writeFileSync(
      join(root, "maskgan-v99", "model.json"),
      JSON.stringify({ maskcodec: { densityRange: [0.05, 0.05] } }),
    );
    expect(defaultModelDir(0.05, root)).toBe(join(root, "only"));
    expect(() => registeredModelDir("maskgan-v99", root)).toThrow(/maskgan-v99.*not in this installation/);
  });

  it("refuses a stream's model id that is not registered, naming it, in one line", () => {
    const root = registry([entry("known", 0)]);
    expect(registeredModelDir("known", root)).toBe(join(root, "known"));
    let message = "";
    try {
      registeredModelDir("maskgan-v3", root);
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe("ERR_MODEL_UNKNOWN");
    }
    expect(message).toMatch(/"maskgan-v3"/);
    expect(message).not.toMatch(/\n/);
  });

  it("says what is wrong with a bad registry", () => {
    expect(() => readRegistry(registry([entry("a", 0), entry("a")]))).toThrow(/listed twice/);
    expect(() => readRegistry(registry([entry("a", 0), entry("b", 0)]))).toThrow(/two defaults start at 0/);
    expect(() => readRegistry(registry([entry("a", 0.1)]))).toThrow(/no default starts at density 0/);
    expect(() => readRegistry(registry([entry("../up", 0)]))).toThrow(/bad model id/);
    const root = tempDir("badjson");
    writeFileSync(join(root, "registry.json"), "{");
    expect(() => readRegistry(root)).toThrow(/Invalid model registry/);
    expect(() => defaultModel(0.05, tempDir("none"))).toThrow(/No default gan model registered/);
  });

  it("ships the defaults: v12-lo below 4 %, v11-d05 to 7 %, v12-d10 to 14 %, v5 above", () => {
    const id = (d: number) => defaultModel(d).id;
    expect([0.01, 0.039, 0.04, 0.05, 0.069, 0.07, 0.1, 0.139, 0.14, 0.2, 0.5].map(id)).toEqual([
      "maskgan-v12-lo",
      "maskgan-v12-lo",
      "maskgan-v11-d05",
      "maskgan-v11-d05",
      "maskgan-v11-d05",
      "maskgan-v12-d10",
      "maskgan-v12-d10",
      "maskgan-v12-d10",
      "maskgan-v5",
      "maskgan-v5",
      "maskgan-v5",
    ]);
  });

  it("lists a refined model's files with its base's shard", () => {
    const [own, shard] = modelFiles(defaultModel(0.05));
    expect(own).toBe(join(MODELS_DIR, "maskgan-v11-d05"));
    expect(shard).toBe(join(MODELS_DIR, "maskgan-v8-d05", "weights.bin"));
    // a copy keeps working where its base is beside it
    const root = tempDir("copy");
    for (const m of ["maskgan-v11-d05", "maskgan-v8-d05"])
      cpSync(join(MODELS_DIR, m), join(root, m), { recursive: true });
    expect(modelFiles(defaultModel(0.05), root)[1]).toBe(join(root, "maskgan-v8-d05", "weights.bin"));
  });
});
