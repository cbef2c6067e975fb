import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { initBackend } from "../../src/nets/backend.ts";

/** wasm backend with gradients, as training uses it. */
export async function setupTf(): Promise<void> {
  await initBackend("wasm", { training: true });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `maskcodec-nets-${prefix}-`));
}

/** Deterministic smooth colour images with an edge, written as PNGs: a stand-in for natural images. */
export async function writeGeneratedImages(dir: string, count: number, size = 40): Promise<string> {
  for (let n = 0; n < count; n++) {
    const data = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const edge = x + 0.5 * y > size * (0.4 + 0.05 * n) ? 60 : 0;
        for (let c = 0; c < 3; c++) {
          const v = 110 + 70 * Math.sin((x * (c + 1) + n * 3) / 9) * Math.cos((y + 2 * c + n) / 11) + edge;
          data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    await sharp(data, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(join(dir, `img${n}.png`));
  }
  return dir;
}
