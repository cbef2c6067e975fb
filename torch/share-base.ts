/**
 * Rewrites refined model folders (torch/import-refiner.ts, --mode ref) made before session 16, which copied
 * their base model's weights into their own weights.bin, to read the base's shard from beside them instead
 * (src/nets/weights.ts saveWeightsOnBase): a refined model then takes ~110 KB in place of ~870 KB.
 *
 *   npx tsx torch/share-base.ts models/maskgan-v9-d05 models/maskgan-v10-lo ...
 *
 * The weight hash is unchanged (the same bytes in the same order), which the script checks by loading the
 * rewritten folder; on any mismatch it puts the old files back. Streams encoded with the models still decode.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { initBackend } from "../src/nets/backend.ts";
import {
  baseGroupsFrom,
  loadWeights,
  type ModelJson,
  readManifest,
  readShards,
  SHARD_NAME,
} from "../src/nets/weights.ts";

async function share(modelDir: string): Promise<string> {
  const card = JSON.parse(await readFile(join(modelDir, "card.json"), "utf8")) as {
    refinement?: { base: string; mode: string };
  };
  if (card.refinement?.mode !== "ref")
    return "not a refiner on a base (card.json refinement.mode): left alone";
  const baseDir = join(dirname(modelDir), card.refinement.base);
  const model = await readManifest(modelDir);
  if (model.weightsManifest.length !== 1) return "shares its base already";
  const base = await readManifest(baseDir);
  const baseSpecs = base.weightsManifest.flatMap((g) => g.weights);
  const specs = model.weightsManifest[0].weights;
  const same = baseSpecs.every((s, i) => JSON.stringify(s) === JSON.stringify(specs[i]));
  const baseBytes = await readShards(baseDir, base);
  const oldShard = await readFile(join(modelDir, SHARD_NAME));
  if (!same || !oldShard.subarray(0, baseBytes.length).equals(baseBytes)) {
    throw new Error(`${modelDir}: its weights do not start with ${baseDir}'s`);
  }
  const oldJson = await readFile(join(modelDir, "model.json"), "utf8");
  const json: ModelJson = {
    ...model,
    weightsManifest: [
      ...baseGroupsFrom(modelDir, baseDir, base),
      { paths: [SHARD_NAME], weights: specs.slice(baseSpecs.length) },
    ],
  };
  await writeFile(join(modelDir, SHARD_NAME), oldShard.subarray(baseBytes.length));
  await writeFile(join(modelDir, "model.json"), `${JSON.stringify(json, null, 1)}\n`);
  const loaded = await loadWeights(modelDir);
  for (const t of loaded.tensors.values()) t.dispose();
  if (loaded.weightHash !== model.maskcodec.weightHash) {
    await writeFile(join(modelDir, SHARD_NAME), oldShard);
    await writeFile(join(modelDir, "model.json"), oldJson);
    throw new Error(`${modelDir}: the hash changed (${loaded.weightHash}); old files restored`);
  }
  return `reads ${relative(modelDir, baseDir)}'s shard; weights.bin ${oldShard.length} -> ${oldShard.length - baseBytes.length} bytes, hash ${loaded.weightHash.slice(0, 12)} unchanged`;
}

async function main(): Promise<void> {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0 || dirs.some((d) => !existsSync(join(d, "model.json")))) {
    console.error("usage: npx tsx torch/share-base.ts MODEL_DIR...  (folders with a model.json)");
    process.exit(2);
  }
  await initBackend("wasm");
  for (const dir of dirs) console.log(`${dir}: ${await share(dir)}`);
}

await main();
