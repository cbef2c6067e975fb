import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { createImage, type Image } from "../../src/image/types.ts";

/** A small colour test image: smooth gradients, an edge and a little deterministic texture. */
export function testImage(width = 48, height = 40, seed = 1): Image {
  const image = createImage(width, height, 3);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 16 - 8;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const edge = x > width / 2 ? 60 : 0;
      image.data[i] = Math.min(255, Math.max(0, 40 + (150 * x) / width + edge + rand()));
      image.data[i + 1] = Math.min(255, Math.max(0, 30 + (180 * y) / height + rand()));
      image.data[i + 2] = Math.min(255, Math.max(0, 120 + 60 * Math.sin(x / 5) * Math.cos(y / 7) + rand()));
    }
  }
  return image;
}

export function tempDir(prefix = "maskcodec-eval-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `image` as a PNG into `dir` and returns its path. */
export async function writeTestPng(dir: string, name: string, image: Image): Promise<string> {
  const path = join(dir, name);
  const bytes = Uint8Array.from(image.data, (v) => Math.round(v));
  await sharp(bytes, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png()
    .toFile(path);
  return path;
}
