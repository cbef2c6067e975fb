import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { MaskcodecError } from "../errors.ts";
import { writeFileAtomic } from "../util/files.ts";
import { tf } from "./tf.ts";

/**
 * Weights in the tfjs weights-manifest format: `model.json` with a `weightsManifest` (one group, one shard
 * `weights.bin`) that tf.io / tf.loadGraphModel-style loaders understand in Node and in a browser, plus our
 * own fields (`format`, `maskcodec`). float16 storage uses the manifest's standard `quantization` entry.
 * The weight hash is the sha256 (hex) of the shard's bytes.
 *
 * A model that adds weights to another (a refiner on a frozen base, torch/import-refiner.ts) can list the base's
 * shards first, by a path relative to its own folder ("../maskgan-v8-d05/weights.bin"), and keep only its own
 * weights in its weights.bin: saveWeightsOnBase. The hash is then that of all shards' bytes in manifest order,
 * which is what one shard holding the same weights in the same order would hash to, so streams keep decoding.
 */

export const SHARD_NAME = "weights.bin";

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: "float32";
  quantization?: { dtype: "float16"; original_dtype: "float32" };
}

export interface ModelJson {
  format: "maskcodec-weights";
  /** Free-form metadata of the owner (architecture, density range, ...). */
  maskcodec: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
}

/** IEEE 754 binary16 from binary32, rounding to nearest even (what tfjs' decoder expects). */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Encodes named tensors into one shard and its manifest entries. */
export async function encodeWeights(
  tensors: Array<[string, tf.Tensor]>,
  options: { float16?: boolean } = {},
): Promise<{ specs: WeightSpec[]; data: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const specs: WeightSpec[] = [];
  for (const [name, t] of tensors) {
    const values = (await t.data()) as Float32Array;
    const spec: WeightSpec = { name, shape: t.shape.slice(), dtype: "float32" };
    if (options.float16) {
      spec.quantization = { dtype: "float16", original_dtype: "float32" };
      const h = float32ToFloat16(values);
      parts.push(new Uint8Array(h.buffer, h.byteOffset, h.byteLength));
    } else {
      const copy = Float32Array.from(values);
      parts.push(new Uint8Array(copy.buffer));
    }
    specs.push(spec);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return { specs, data };
}

/** Writes model.json + weights.bin into `dir` (created if needed); returns the weight hash. */
export async function saveWeights(
  dir: string,
  tensors: Array<[string, tf.Tensor]>,
  meta: Record<string, unknown>,
  options: { float16?: boolean } = {},
): Promise<{ weightHash: string; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const { specs, data } = await encodeWeights(tensors, options);
  const weightHash = sha256Hex(data);
  const json: ModelJson = {
    format: "maskcodec-weights",
    maskcodec: { ...meta, weightHash },
    weightsManifest: [{ paths: [SHARD_NAME], weights: specs }],
  };
  await writeFileAtomic(join(dir, SHARD_NAME), data, { overwrite: true });
  await writeFileAtomic(join(dir, "model.json"), `${JSON.stringify(json, null, 1)}\n`, { overwrite: true });
  return { weightHash, bytes: data.length };
}

/**
 * Writes a model made of a base model's weights (its shards, read from beside `dir`, never copied) and
 * `extra` weights of new names into `dir`'s own weights.bin. Returns the hash of base and extra bytes in order.
 */
export async function saveWeightsOnBase(
  dir: string,
  baseDir: string,
  extra: Array<[string, tf.Tensor]>,
  meta: Record<string, unknown>,
  options: { float16?: boolean } = {},
): Promise<{ weightHash: string; bytes: number }> {
  const base = await readManifest(baseDir);
  const baseNames = new Set(base.weightsManifest.flatMap((g) => g.weights.map((w) => w.name)));
  const clash = extra.find(([name]) => baseNames.has(name));
  if (clash) throw new MaskcodecError(`${clash[0]} is in the base ${baseDir} already`, "ERR_MODEL");
  await mkdir(dir, { recursive: true });
  const groups = baseGroupsFrom(dir, baseDir, base);
  const { specs, data } = await encodeWeights(extra, options);
  const baseBytes = await readShards(baseDir, base);
  const weightHash = createHash("sha256").update(baseBytes).update(data).digest("hex");
  const json: ModelJson = {
    format: "maskcodec-weights",
    maskcodec: { ...meta, weightHash },
    weightsManifest: [...groups, { paths: [SHARD_NAME], weights: specs }],
  };
  await writeFileAtomic(join(dir, SHARD_NAME), data, { overwrite: true });
  await writeFileAtomic(join(dir, "model.json"), `${JSON.stringify(json, null, 1)}\n`, { overwrite: true });
  return { weightHash, bytes: data.length };
}

/** A base model's manifest groups with their shard paths made relative to `dir` ("/" on every platform). */
export function baseGroupsFrom(dir: string, baseDir: string, base: ModelJson): ModelJson["weightsManifest"] {
  return base.weightsManifest.map((g) => ({
    paths: g.paths.map((path) => relative(dir, join(baseDir, path)).split(sep).join("/")),
    weights: g.weights,
  }));
}

export async function readManifest(dir: string): Promise<ModelJson> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as ModelJson;
  } catch (error) {
    throw new MaskcodecError(
      `Cannot read model ${join(dir, "model.json")}: ${(error as Error).message}`,
      "ERR_MODEL",
    );
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new MaskcodecError(`${join(dir, "model.json")} has no weightsManifest`, "ERR_MODEL");
  }
  return json;
}

/** All shards of a manifest, in order, as one buffer (paths relative to the model's folder). */
export async function readShards(dir: string, json: ModelJson): Promise<Uint8Array<ArrayBuffer>> {
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      try {
        buffers.push(new Uint8Array(await readFile(join(dir, path))));
      } catch (error) {
        const shared = dirname(path) !== ".";
        throw new MaskcodecError(
          `Cannot read the weights ${join(dir, path)} of model ${dir}${shared ? " (a base model's shard: keep the model beside its base)" : ""}: ${(error as Error).message}`,
          "ERR_MODEL",
        );
      }
    }
  }
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    all.set(b, offset);
    offset += b.length;
  }
  return all;
}

/** Reads model.json + shards from `dir`; tensors are float32 whatever the storage. */
export async function loadWeights(
  dir: string,
): Promise<{ json: ModelJson; tensors: Map<string, tf.Tensor>; weightHash: string }> {
  const json = await readManifest(dir);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const all = await readShards(dir, json);
  const decoded = tf.io.decodeWeights(all.buffer, specs as tf.io.WeightsManifestEntry[]);
  return { json, tensors: new Map(Object.entries(decoded)), weightHash: sha256Hex(all) };
}
