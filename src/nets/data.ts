import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { MaskcodecError } from "../errors.ts";
import type { Rng } from "./ops.ts";

/** A folder of training images, decoded once into memory as 8-bit RGB. */
export interface ImageSet {
  names: string[];
  images: Array<{ width: number; height: number; data: Uint8Array }>;
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|avif|tiff?|gif)$/i;

export async function loadImageFolder(
  dir: string,
  options: { minSize?: number; limit?: number } = {},
): Promise<ImageSet> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.test(f)).sort();
  } catch (error) {
    throw new MaskcodecError(`Cannot read image folder ${dir}: ${(error as Error).message}`, "ERR_INPUT");
  }
  if (options.limit) entries = entries.slice(0, options.limit);
  const { default: sharp } = await import("sharp");
  const set: ImageSet = { names: [], images: [] };
  for (const name of entries) {
    const { data, info } = await sharp(join(dir, name))
      .rotate()
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) continue;
    if (options.minSize && (info.width < options.minSize || info.height < options.minSize)) continue;
    set.names.push(name);
    set.images.push({ width: info.width, height: info.height, data: new Uint8Array(data) });
  }
  if (set.images.length === 0) {
    throw new MaskcodecError(
      `No usable images (PNG/JPEG/WebP, at least ${options.minSize ?? 1} px a side) in ${dir}`,
      "ERR_INPUT",
    );
  }
  return set;
}

/** A batch of random size x size crops with random horizontal and vertical flips, NHWC on [0, 1]. */
export function sampleBatch(set: ImageSet, rng: Rng, size: number, batch: number): Float32Array {
  const out = new Float32Array(batch * size * size * 3);
  for (let n = 0; n < batch; n++) {
    const img = set.images[rng.int(set.images.length)];
    const x0 = rng.int(img.width - size + 1);
    const y0 = rng.int(img.height - size + 1);
    const flipX = rng.next() < 0.5;
    const flipY = rng.next() < 0.5;
    for (let y = 0; y < size; y++) {
      const sy = y0 + (flipY ? size - 1 - y : y);
      for (let x = 0; x < size; x++) {
        const sx = x0 + (flipX ? size - 1 - x : x);
        const s = (sy * img.width + sx) * 3;
        const d = ((n * size + y) * size + x) * 3;
        out[d] = img.data[s] / 255;
        out[d + 1] = img.data[s + 1] / 255;
        out[d + 2] = img.data[s + 2] / 255;
      }
    }
  }
  return out;
}

/** Centre crops (size x size) of the first `count` images, NHWC on [0, 1]. */
export function centreCrops(
  set: ImageSet,
  size: number,
  count: number,
): { data: Float32Array; count: number } {
  const usable = set.images.filter((i) => i.width >= size && i.height >= size).slice(0, count);
  const out = new Float32Array(usable.length * size * size * 3);
  usable.forEach((img, n) => {
    const x0 = Math.floor((img.width - size) / 2);
    const y0 = Math.floor((img.height - size) / 2);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const s = ((y0 + y) * img.width + x0 + x) * 3;
        const d = ((n * size + y) * size + x) * 3;
        for (let c = 0; c < 3; c++) out[d + c] = img.data[s + c] / 255;
      }
    }
  });
  return { data: out, count: usable.length };
}
