/**
 * What format version 7's float32 solve (src/baselines/cg-f32.ts) changes in the diffusion backend's decode,
 * against version 6's float64 solve of the same streams. Each image is encoded once with the diffusion
 * backend's defaults (analytic mask, default quantiser) at each density, then decoded in this process as
 * version 6 and as version 7 (the stream relabelled: the same mask and values). Per version: the PSNR of the
 * written 8-bit image against the original, the largest distance before rounding from the converged solution
 * (a float64 solve to 1e-10), CG iterations, and the inpainting's wall time (best of --repeat, the two
 * versions alternating); between them: the samples that differ and the largest difference.
 *
 *   npm run bench -- diffusion-arithmetic [--dir ../shared/datasets/kodak] [--limit 24]
 *                                         [--densities 0.02,0.05,0.1] [--repeat 3] [--out FILE.json]
 */
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { encodeImage } from "../src/codec/codec.ts";
import { diffusionDecoding, parseStream } from "../src/codec/stream.ts";
import { readImage, toBytes } from "../src/image/io.ts";
import { psnr } from "../src/image/metrics.ts";
import { createImage, type Image, type Mask } from "../src/image/types.ts";
import { analyticSelector } from "../src/mask/analytic.ts";

const DATASETS = join(import.meta.dirname, "..", "..", "shared", "datasets");

interface Row {
  image: string;
  density: number;
  psnr6: number;
  psnr7: number;
  distance6: number;
  distance7: number;
  iterations6: number;
  iterations7: number;
  seconds6: number;
  seconds7: number;
  changed: number;
  largest: number;
}

/** The largest absolute difference of two equally long arrays. */
function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** The decoded image of a parsed stream as `version` decodes it, and its best wall time of `repeat`. */
function decodeAs(known: Image, mask: Mask, version: number) {
  const options = diffusionDecoding(version);
  const copy = () => createImage(known.width, known.height, known.channels, new Float32Array(known.data));
  const t0 = performance.now();
  const result = inpaintDiffusion(copy(), mask, { ...options, inPlace: true });
  return { result, seconds: (performance.now() - t0) / 1000 };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: "string", default: join(DATASETS, "kodak") },
      limit: { type: "string", default: "24" },
      densities: { type: "string", default: "0.02,0.05,0.1" },
      repeat: { type: "string", default: "3" },
      out: { type: "string" },
    },
  });
  const densities = values.densities.split(",").map(Number);
  const repeat = Number(values.repeat);
  const files = readdirSync(values.dir)
    .filter((f) => /\.(png|jpg)$/i.test(f))
    .sort()
    .slice(0, Number(values.limit));
  const rows: Row[] = [];
  for (const file of files) {
    const image = await readImage(join(values.dir, file));
    if (image.channels !== 3) continue;
    for (const density of densities) {
      const encoded = await encodeImage(image, {
        selector: analyticSelector(),
        density,
        backend: "diffusion",
      });
      const { known, mask } = parseStream(encoded.bytes);
      const converged = inpaintDiffusion(known, mask, { tolerance: 1e-10 }).image.data;
      let seconds6 = Infinity;
      let seconds7 = Infinity;
      // one decode each before the timed ones, so that neither version pays the kernels' first calls
      let v6 = decodeAs(known, mask, 6);
      let v7 = decodeAs(known, mask, 7);
      for (let k = 0; k < repeat; k++) {
        v6 = decodeAs(known, mask, 6);
        seconds6 = Math.min(seconds6, v6.seconds);
        v7 = decodeAs(known, mask, 7);
        seconds7 = Math.min(seconds7, v7.seconds);
      }
      const a = toBytes(v6.result.image);
      const b = toBytes(v7.result.image);
      let changed = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
      const row: Row = {
        image: file,
        density,
        psnr6: psnr(image, v6.result.image),
        psnr7: psnr(image, v7.result.image),
        distance6: largestDifference(v6.result.image.data, converged),
        distance7: largestDifference(v7.result.image.data, converged),
        iterations6: Math.max(...v6.result.iterations),
        iterations7: Math.max(...v7.result.iterations),
        seconds6,
        seconds7,
        changed: changed / a.length,
        largest: largestDifference(a, b),
      };
      rows.push(row);
      console.error(
        `${file} ${density}: ${row.psnr6.toFixed(4)} / ${row.psnr7.toFixed(4)} dB, ` +
          `${row.iterations6} / ${row.iterations7} iterations, ${(seconds6 * 1000).toFixed(1)} / ` +
          `${(seconds7 * 1000).toFixed(1)} ms, ${(100 * row.changed).toFixed(3)} % of samples differ (at most ${row.largest})`,
      );
    }
  }
  console.log(
    `\nThe diffusion decode as version 6 (float64) and 7 (float32): ${files.length} images of ${values.dir}, ` +
      `the diffusion backend's default encoder; inpainting wall time in-process, best of ${repeat}.\n`,
  );
  console.log(
    "| density | mean PSNR v6 / v7 (dB) | largest |PSNR change| | largest distance from converged, v6 / v7 (levels) | samples that differ | largest sample difference | CG iterations v6 / v7 | mean ms v6 / v7 | speed-up |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const density of densities) {
    const r = rows.filter((x) => x.density === density);
    const mean = (f: (x: Row) => number) => r.reduce((s, x) => s + f(x), 0) / r.length;
    const max = (f: (x: Row) => number) => Math.max(...r.map(f));
    const ms6 = mean((x) => x.seconds6) * 1000;
    const ms7 = mean((x) => x.seconds7) * 1000;
    console.log(
      `| ${(density * 100).toFixed(0)} % | ${mean((x) => x.psnr6).toFixed(4)} / ${mean((x) => x.psnr7).toFixed(4)} | ` +
        `${max((x) => Math.abs(x.psnr7 - x.psnr6)).toFixed(4)} | ${max((x) => x.distance6).toFixed(3)} / ` +
        `${max((x) => x.distance7).toFixed(3)} | ${(100 * mean((x) => x.changed)).toFixed(3)} % | ${max((x) => x.largest)} | ` +
        `${mean((x) => x.iterations6).toFixed(2)} / ${mean((x) => x.iterations7).toFixed(2)} | ${ms6.toFixed(1)} / ${ms7.toFixed(1)} | ` +
        `${(ms6 / ms7).toFixed(2)}× |`,
    );
  }
  if (values.out) {
    await writeFile(values.out, `${JSON.stringify({ rows }, null, 1)}\n`);
    console.log(`\nwrote ${values.out}`);
  }
}
