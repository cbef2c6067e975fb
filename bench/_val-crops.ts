/**
 * The BSDS500 validation images the placement benchmarks use (never test-dev): the first `limit` files of
 * ../shared/datasets/bsds500/val in name order, each as its 128×128 centre crop.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { centreCrop, readImage } from "../src/image/io.ts";
import type { Image } from "../src/image/types.ts";

const VAL = join(import.meta.dirname, "..", "..", "shared", "datasets", "bsds500", "val");

export function valFiles(limit: number): string[] {
  return readdirSync(VAL)
    .filter((f) => /\.(jpg|png)$/i.test(f))
    .sort()
    .slice(0, limit);
}

export async function valCrop(file: string): Promise<Image> {
  return centreCrop(await readImage(join(VAL, file)), 128);
}
