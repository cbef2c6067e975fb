// Tonal optimisation for gan at (nearly) equal rate: mean bpp / MAE / PSNR through the codec on BSDS500 val crops,
// original values at several quantiser level counts against tonal values (session 10, docs/notes/nets.md).
//
//   npx tsx scripts/tonal-rd.ts [CROPS=20] [DENSITY=0.05]
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ditherScores } from "../src/baselines/dither.ts";
import { decodeBytes, encodeImage } from "../src/codec/codec.ts";
import { centreCrop, readImage } from "../src/image/io.ts";
import { mae, psnr } from "../src/image/metrics.ts";
import { createMask, targetCount } from "../src/image/types.ts";
import { defaultModelDir, loadGanModel } from "../src/nets/gan-backend.ts";

const limit = Number(process.argv[2] ?? 20);
const density = Number(process.argv[3] ?? 0.05);
const dir = "../shared/datasets/bsds500/val";
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".jpg"))
  .sort()
  .slice(0, limit);
const model = await loadGanModel(defaultModelDir(density));
const configs = [
  { levels: 16, tonal: false },
  { levels: 20, tonal: false },
  { levels: 24, tonal: false },
  { levels: 32, tonal: false },
  { levels: 16, tonal: true, q: 0 },
  { levels: 12, tonal: true, q: 0.5 },
  { levels: 16, tonal: true, q: 0.5 },
  { levels: 20, tonal: true, q: 0.5 },
];
const acc = configs.map(() => ({ bpp: 0, mae: 0, psnr: 0 }));
for (const file of files) {
  const image = centreCrop(await readImage(join(dir, file)), 128);
  const n = 128 * 128;
  const scores = await model.scores(image, density);
  const mask = createMask(128, 128, ditherScores(scores, 128, 128, targetCount(n, density)));
  for (const [i, c] of configs.entries()) {
    const enc = await encodeImage(image, {
      selector: { id: "gan", select: async () => mask },
      density,
      backend: "gan",
      modelId: model.id,
      weightHash: model.weightHash,
      quantiser: { lumaLevels: c.levels, chromaLevels: c.levels },
      tonal: c.tonal ? model.tonalOptimiser({ quantisedFraction: (c as { q: number }).q }) : undefined,
    });
    const dec = await decodeBytes(enc.bytes, async () => model.inpainter());
    acc[i].bpp += (enc.bytes.length * 8) / n / files.length;
    acc[i].mae += mae(image, dec.image) / files.length;
    acc[i].psnr += psnr(image, dec.image) / files.length;
  }
}
console.log(`bsds500 val, ${files.length} crops 128x128, density ${density}, model ${model.id}`);
for (const [i, c] of configs.entries())
  console.log(
    `levels ${c.levels}${c.tonal ? ` tonal q ${(c as { q: number }).q}` : "           "}: bpp ${acc[i].bpp.toFixed(3)}  MAE ${acc[i].mae.toFixed(2)}  PSNR ${acc[i].psnr.toFixed(2)}`,
  );
