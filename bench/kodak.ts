/**
 * The codec benchmark: for the Kodak images, densities 0.02/0.05/0.1 and the random and grid masks,
 * through the library API (encode → bytes → decode with diffusion inpainting): bpp of mask and
 * values, PSNR, SSIM, encode and decode seconds. Means over images, as a markdown table; --out FILE.json
 * writes every record.
 *
 *   npm run bench -- kodak [--limit N] [--densities 0.02,0.05,0.1] [--masks random,grid] [--out FILE]
 */
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decode, encode } from "../src/api.ts";
import { parseMaskSelector } from "../src/backends.ts";
import { defaultQuantiser } from "../src/codec/codec.ts";
import { readImage } from "../src/image/io.ts";
import { psnr, ssim } from "../src/image/metrics.ts";

export const KODAK_DIR = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");

interface Row {
  image: string;
  mask: string;
  density: number;
  bpp: number;
  bpp_mask: number;
  bpp_values: number;
  psnr: number;
  ssim: number;
  encode_s: number;
  decode_s: number;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "24" },
      densities: { type: "string", default: "0.02,0.05,0.1" },
      masks: { type: "string", default: "random,grid" },
      out: { type: "string" },
    },
  });
  const files = readdirSync(KODAK_DIR)
    .filter((f) => f.endsWith(".png"))
    .sort()
    .slice(0, Number(values.limit));
  const densities = values.densities.split(",").map(Number);
  const masks = values.masks.split(",").map(parseMaskSelector);
  const rows: Row[] = [];
  for (const file of files) {
    const image = await readImage(join(KODAK_DIR, file));
    const pixels = image.width * image.height;
    for (const mask of masks) {
      for (const density of densities) {
        const t0 = performance.now();
        const encoded = await encode(image, { density, backend: "diffusion", mask });
        const t1 = performance.now();
        const decoded = await decode(encoded.bytes);
        const t2 = performance.now();
        const row: Row = {
          image: file,
          mask,
          density,
          bpp: (encoded.bytes.length * 8) / pixels,
          bpp_mask: (encoded.sizes.mask * 8) / pixels,
          bpp_values: (encoded.sizes.values * 8) / pixels,
          psnr: psnr(image, decoded.image),
          ssim: ssim(image, decoded.image),
          encode_s: (t1 - t0) / 1000,
          decode_s: (t2 - t1) / 1000,
        };
        rows.push(row);
        process.stderr.write(
          `${file} ${mask} ${density}: ${row.bpp.toFixed(3)} bpp, ${row.psnr.toFixed(2)} dB, decode ${row.decode_s.toFixed(3)} s\n`,
        );
      }
    }
  }
  if (values.out) await writeFile(values.out, JSON.stringify(rows, null, 1));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `\nKodak, ${files.length} images, diffusion inpainting, default quantiser (${JSON.stringify(defaultQuantiser("ycbcr"))})\n`,
  );
  console.log("| mask | density | bpp | bpp mask | bpp values | PSNR dB | SSIM | encode s | decode s |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const mask of masks) {
    for (const density of densities) {
      const r = rows.filter((x) => x.mask === mask && x.density === density);
      const f = (k: keyof Row, d: number) => mean(r.map((x) => x[k] as number)).toFixed(d);
      console.log(
        `| ${mask} | ${density} | ${f("bpp", 4)} | ${f("bpp_mask", 4)} | ${f("bpp_values", 4)} | ${f("psnr", 2)} | ${f("ssim", 4)} | ${f("encode_s", 3)} | ${f("decode_s", 3)} |`,
      );
    }
  }
}
