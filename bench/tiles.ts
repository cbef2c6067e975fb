/**
 * The tree mode's least squares over tiles against one window over the whole image: for each photo, density
 * and tile geometry, the stream size and RGB PSNR of the decoded image at the same trees and quantiser, and
 * the CPU seconds of the encode after the trees are grown (the least-squares values, quantisation, stream).
 * The trees are grown once per photo and density over the whole image (as without tiles; they do not depend on
 * the values) and shared by every geometry, so the geometries differ only in the stored values.
 *
 *   npm run bench -- tiles [--images A.png,B.png] [--bsds 101085,103070] [--upscale 3]
 *                          [--densities 0.01,0.03] [--geometries untiled,1024/64,768/64,512/32]
 *                          [--closed-loop] [--out FILE.json]
 *
 * --images are read as they are (default: the 1632 × 1224 upscale of kodim01 that `npm run bench -- photos`
 * writes to runs/photos/); --bsds names BSDS500 val photos, Lanczos-upscaled by --upscale. A geometry is
 * CORE/MARGIN (an image side of at most CORE pixels is not cut), CORE/MARGIN/SPAN, or "untiled".
 * --closed-loop quantises as the rate control's final stream does (three shares, re-optimised in between);
 * without it the values are rounded as `encode --mask tree --density D` does.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { readImage } from "../src/image/io.ts";
import { psnr } from "../src/image/metrics.ts";
import { createImage, type Image } from "../src/image/types.ts";
import { decodeLowrate, LowrateEncoder } from "../src/lowrate/codec.ts";
import { settingsFor } from "../src/lowrate/rate.ts";
import { type TileGeometry, UNTILED } from "../src/nets/tiling.ts";

const ROOT = join(import.meta.dirname, "..");
const BSDS_VAL = join(ROOT, "..", "shared", "datasets", "bsds500", "val");
const DEFAULT_IMAGE = join(ROOT, "runs", "photos", "kodim01-1632x1224.png");

function parseGeometry(text: string): TileGeometry {
  if (text === "untiled") return UNTILED;
  const [core, margin, span] = text.split("/").map(Number);
  if (!(core > 0 && margin >= 0)) throw new Error(`--geometries: bad geometry ${text} (CORE/MARGIN[/SPAN])`);
  return { core, margin, span: span ?? core };
}

function label(g: TileGeometry): string {
  return Number.isFinite(g.core) ? `${g.core}/${g.margin}/${g.span ?? g.core}` : "untiled";
}

async function upscaled(name: string, factor: number): Promise<{ name: string; image: Image }> {
  const path = join(BSDS_VAL, `${name}.jpg`);
  const meta = await sharp(path).metadata();
  const width = Math.round((meta.width ?? 0) * factor);
  const height = Math.round((meta.height ?? 0) * factor);
  const { data, info } = await sharp(path)
    .resize(width, height, { kernel: "lanczos3" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const image = createImage(info.width, info.height, 3, Float32Array.from(data));
  return { name: `${name}×${factor}`, image };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      images: { type: "string" },
      bsds: { type: "string" },
      upscale: { type: "string", default: "3" },
      densities: { type: "string", default: "0.01,0.03" },
      geometries: { type: "string", default: "untiled,1024/64,768/64,768/32,512/64,512/32" },
      "closed-loop": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const photos: Array<{ name: string; image: Image }> = [];
  const paths = values.images ? values.images.split(",") : values.bsds ? [] : [DEFAULT_IMAGE];
  for (const path of paths)
    photos.push({ name: path.split("/").pop() ?? path, image: await readImage(path) });
  for (const name of values.bsds ? values.bsds.split(",") : []) {
    photos.push(await upscaled(name, Number(values.upscale)));
  }
  const densities = values.densities.split(",").map(Number);
  const geometries = values.geometries.split(",").map(parseGeometry);
  const closedLoop = values["closed-loop"];
  const rows: Array<Record<string, string | number>> = [];
  console.log("| photo | density | geometry | bytes | PSNR | Δ PSNR | values CPU s |");
  console.log("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
  for (const { name, image } of photos) {
    for (const density of densities) {
      const settings = {
        ...settingsFor(Math.max(1, Math.round(density * image.width * image.height))),
        closedLoop,
      };
      // One encoder grows the trees (plain values, no least squares); each geometry's encoder reuses them.
      const grower = new LowrateEncoder(image, { tiling: UNTILED });
      grower.encode({ ...settings, tonal: false });
      let reference: number | undefined;
      for (const tiling of geometries) {
        const encoder = grower.withTiling(tiling);
        const t0 = process.cpuUsage();
        const { bytes } = encoder.encode(settings);
        const cpu = cpuSeconds(t0);
        const quality = psnr(image, decodeLowrate(bytes).image);
        reference ??= quality;
        const row = {
          photo: `${name} (${image.width}×${image.height})`,
          density,
          geometry: label(tiling),
          bytes: bytes.length,
          psnr: quality,
          delta: quality - reference,
          cpu,
        };
        rows.push(row);
        console.log(
          `| ${row.photo} | ${density} | ${row.geometry} | ${row.bytes} | ${quality.toFixed(3)} | ` +
            `${row.delta >= 0 ? "+" : ""}${row.delta.toFixed(3)} | ${cpu.toFixed(1)} |`,
        );
      }
    }
  }
  if (values.out) await writeFile(values.out, `${JSON.stringify({ closedLoop, rows }, null, 1)}\n`);
}
