import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encoderSetup, GAN_NLPE_CYCLES } from "../../src/backends.ts";
import { refinedSelector } from "../../src/baselines/nlpe.ts";
import { createImage, type Image } from "../../src/image/types.ts";
import { loadGanModel } from "../../src/nets/gan-backend.ts";
import { MODELS_DIR } from "../../src/nets/registry.ts";
import { setupTf, tempDir } from "./helpers.ts";

/** The shipped gan models through the backend: caching, model cards, and the gan+nlpe selector. */

function image(width: number, height: number): Image {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        img.data[(y * width + x) * 3 + c] = 128 + 100 * Math.sin(0.3 * x + c) * Math.cos(0.2 * y);
  return img;
}

/** A copy of the shipped maskgan-v5 (no base shard) whose card.json can be edited. */
function v5Copy(card?: string): string {
  const dir = join(tempDir("card"), "maskgan-v5");
  cpSync(join(MODELS_DIR, "maskgan-v5"), dir, { recursive: true });
  if (card !== undefined) writeFileSync(join(dir, "card.json"), card);
  return dir;
}

describe("the shipped gan models", () => {
  beforeAll(setupTf);

  it("loads a model again after dispose() instead of serving the disposed one from the cache", async () => {
    const dir = v5Copy();
    const first = await loadGanModel(dir);
    expect(await loadGanModel(dir)).toBe(first);
    first.dispose();
    const second = await loadGanModel(dir);
    expect(second).not.toBe(first);
    const mask = await second.selector().select(image(16, 16), 0.1);
    expect(mask.width).toBe(16);
    second.dispose();
  });

  it("refuses a card.json that is no JSON or names an unknown selection, and defaults without a card", async () => {
    await expect(loadGanModel(v5Copy("{ selection: dither"))).rejects.toThrow(/card\.json is not JSON/);
    await expect(loadGanModel(v5Copy(JSON.stringify({ selection: "dithr" })))).rejects.toThrow(
      /unknown mask selection "dithr"/,
    );
    const ordered = await loadGanModel(v5Copy(JSON.stringify({ selection: "ordered" })));
    expect(ordered.selection).toBe("ordered");
    ordered.dispose();
    expect((await loadGanModel(join(MODELS_DIR, "maskgan-v5"))).selection).toBe("dither");
  });

  it("--refine C sets the cycles of gan+nlpe instead of stacking C more on top", async () => {
    const img = image(24, 24);
    const density = 0.1;
    const refined = await encoderSetup({
      backend: "gan",
      mask: "gan+nlpe",
      density,
      seed: 3,
      refineCycles: 1,
    });
    expect(refined.selector.id).toBe("gan+nlpe");
    const model = await loadGanModel(join(MODELS_DIR, refined.modelId as string));
    const oneCycle = await refinedSelector(model.selector(), { cycles: 1, seed: 3 }).select(img, density);
    expect(Array.from((await refined.selector.select(img, density)).data)).toEqual(Array.from(oneCycle.data));
    const plain = await encoderSetup({ backend: "gan", mask: "gan+nlpe", density, seed: 3 });
    const fiveCycles = await refinedSelector(model.selector(), { cycles: GAN_NLPE_CYCLES, seed: 3 }).select(
      img,
      density,
    );
    expect(Array.from((await plain.selector.select(img, density)).data)).toEqual(Array.from(fiveCycles.data));
  });
});
