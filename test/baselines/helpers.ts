import { type Channels, createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";
import { createRng } from "../../src/mask/rng.ts";

/** A small synthetic photo-like image: smooth gradients, an edge, a disc and a little noise. */
export function syntheticImage(w: number, h: number, C: Channels = 3, seed = 1): Image {
  const rng = createRng(seed);
  const img = createImage(w, h, C);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (Math.min(w, h) * 0.25) ** 2;
      for (let c = 0; c < C; c++) {
        let v = 40 + (150 * x) / w + 30 * Math.sin((y + 7 * c) / 5) + (x > w / 3 ? 40 : 0) + (disc ? -60 : 0);
        v += (rng.next() - 0.5) * 10;
        img.data[(y * w + x) * C + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return img;
}

export function mae(a: Image, b: Image): number {
  let e = 0;
  for (let i = 0; i < a.data.length; i++) e += Math.abs(a.data[i] - b.data[i]);
  return e / a.data.length;
}

/** A random mask of about `density` known pixels, at least one. */
export function randomMaskOf(w: number, h: number, density: number, seed: number): Mask {
  const rng = createRng(seed);
  const mask = createMask(w, h);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = rng.next() < density ? 1 : 0;
  mask.data[rng.int(w * h)] = 1;
  return mask;
}
