/**
 * The BSDS500 validation images the placement benchmarks use (never test-dev): the first `limit` files of
 * ../shared/datasets/bsds500/val in name order, each as its 128×128 centre crop.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { centreCrop, readImage } from "../src/image/io.ts";
import type { Image } from "../src/image/types.ts";
import { defaultModelDir, type GanModel, loadGanModel } from "../src/nets/gan-backend.ts";

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

/**
 * Per density, the model `--density` would pick (a specialist where one covers it), or `override` for all.
 * Loaded one at a time: the first load initialises the tfjs backend, and parallel loads race it.
 */
export async function modelsByDensity(densities: number[], override?: string): Promise<GanModel[]> {
  const models: GanModel[] = [];
  for (const d of densities) models.push(await loadGanModel(override ?? defaultModelDir(d)));
  return models;
}
