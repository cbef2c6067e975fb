/**
 * Writes the validation crops of the TypeScript trainer (centreCrops of the first N images of a folder, decoded
 * by sharp) as one uint8 .npy [N, S, S, 3] for torch/train.py, so that both trainers validate on the same bytes.
 *
 *   npx tsx torch/val-crops.ts ../shared/datasets/bsds500/val OUT.npy [--count 48] [--size 128]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { centreCrops, loadImageFolder } from "../src/nets/data.ts";
import { npyBytes } from "./npy.ts";

const [dir, out] = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
if (!dir || !out) {
  console.error("usage: npx tsx torch/val-crops.ts IMAGE_DIR OUT.npy [--count 48] [--size 128]");
  process.exit(2);
}
const count = option("--count", 48);
const size = option("--size", 128);
const crops = centreCrops(await loadImageFolder(dir, { minSize: size }), size, count);
const bytes = Uint8Array.from(crops.data, (v) => Math.round(v * 255));
await mkdir(dirname(out), { recursive: true }); // a fresh clone has no .gpu/ yet
await writeFile(out, npyBytes(bytes, "|u1", [crops.count, size, size, 3]));
console.log(`${crops.count} crops of ${size}x${size} from ${dir} -> ${out}`);
