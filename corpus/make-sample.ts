/**
 * Generates corpus/sample.png, the project's own demo image (256×256 colour): smooth gradients, flat
 * regions with sharp edges, a soft blob and a patch of fine texture — the structures inpainting codecs
 * find easy and hard. Deterministic; run with `npx tsx corpus/make-sample.ts`.
 */
import { join } from "node:path";
import { writePng } from "../src/image/io.ts";
import { createImage } from "../src/image/types.ts";

const size = 256;
const image = createImage(size, size, 3);
for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    const u = x / size;
    const v = y / size;
    // sky-like vertical gradient
    let r = 90 + 100 * v;
    let g = 140 + 60 * v;
    let b = 220 - 60 * v;
    // a hill with a sharp edge
    if (v > 0.62 + 0.08 * Math.sin(6 * u)) {
      r = 70 + 40 * u;
      g = 120 + 30 * Math.sin(10 * u + 3 * v);
      b = 50;
    }
    // a sun with a soft halo
    const d = Math.hypot(u - 0.72, v - 0.25);
    const halo = Math.exp(-((d / 0.12) ** 2));
    r += (255 - r) * halo;
    g += (230 - g) * halo;
    b += (120 - b) * halo;
    // a house: flat walls, a triangular roof, a window
    if (u > 0.15 && u < 0.4 && v > 0.5 && v < 0.75) [r, g, b] = [200, 190, 170];
    if (v > 0.36 && v <= 0.5 && Math.abs(u - 0.275) < (v - 0.36) * 1.1) [r, g, b] = [150, 40, 30];
    if (u > 0.22 && u < 0.3 && v > 0.56 && v < 0.64) [r, g, b] = [40, 60, 90];
    // fine texture (grass) in the lower right
    if (u > 0.55 && v > 0.8) {
      const t = Math.sin(x * 1.7) * Math.sin(y * 2.3) * 25;
      g += t;
      r += t / 2;
    }
    const i = (y * size + x) * 3;
    image.data[i] = r;
    image.data[i + 1] = g;
    image.data[i + 2] = b;
  }
}
await writePng(image, join(import.meta.dirname, "sample.png"));
