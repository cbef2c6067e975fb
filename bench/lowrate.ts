/**
 * The low-rate mode against JPEG on full-size photos (Kodak by default): each image's PSNR and SSIM
 * curves, interpolated at 0.1 / 0.15 / 0.25 bpp (log-rate) and averaged; BD-rate and BD-PSNR against JPEG
 * (mozjpeg) per image over the points within 0.05–0.5 bpp, then averaged; the rate control's sizes at those
 * rates; and the banding check on a generated smooth two-colour gradient (the tree mode's error at each
 * JPEG file size, with the size given to the rate control).
 *
 *   npm run bench -- lowrate [--dir DIR] [--limit N] [--densities 0.006,...] [--grid] [--rate-check N] [--out FILE]
 *   npm run bench -- lowrate --from FILE[,FILE]   # the tables again from (possibly partial) --out files
 *
 * --levels 8/8,16/12 measures only these quantisers (default: the rate control's candidates); with --from the
 * envelope is recomputed from the quantisers every joined part measured, and modes not measured for every
 * image are left out.
 *
 * --plot PREFIX writes PREFIX-psnr.svg/.png and PREFIX-ssim.svg/.png: the tree mode's, JPEG's and the grid
 * mode's mean curves.
 *
 * --skip N starts at the N+1-th image (sorted by name), so a long run can be split and joined with --from.
 *
 * --grid adds the version-1 diffusion codec with the grid mask (default quantiser) for comparison. --out is
 * rewritten after every image, so an interrupted run still has its curves.
 */
import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { diffusionInpainter } from "../src/baselines/diffusion.ts";
import { gridSelector } from "../src/baselines/selectors.ts";
import { decodeBytes, defaultQuantiser, encodeImage } from "../src/codec/codec.ts";
import { referenceCodec } from "../src/eval/codecs.ts";
import { bjontegaard, interpolateAt, logGrid, normaliseCurve, type RdPoint } from "../src/eval/curves.ts";
import { rdSpec, renderSvg, svgToPng } from "../src/eval/plot.ts";
import type { RdRecord } from "../src/eval/records.ts";
import { readImage } from "../src/image/io.ts";
import { psnr, ssim } from "../src/image/metrics.ts";
import { createImage, type Image } from "../src/image/types.ts";
import { LowrateEncoder } from "../src/lowrate/codec.ts";
import { encodeToSize, LEVEL_CANDIDATES, LOWRATE_DEFAULTS, settingsFor } from "../src/lowrate/rate.ts";

const KODAK_DIR = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");
const RATES = [0.1, 0.15, 0.25];
const JPEG_QUALITIES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 26, 30, 35, 40, 50];
const BD_RANGE: [number, number] = [0.05, 0.5];

interface Point {
  bpp: number;
  psnr: number;
  ssim: number;
}

const jpeg = referenceCodec("jpeg");

async function jpegCurve(image: Image): Promise<Point[]> {
  const n = image.width * image.height;
  const out: Point[] = [];
  for (const quality of JPEG_QUALITIES) {
    const r = await jpeg.run(image, { quality });
    out.push({ bpp: (r.bytes.length * 8) / n, psnr: psnr(image, r.decoded), ssim: ssim(image, r.decoded) });
  }
  return out;
}

function treeCurve(encoder: LowrateEncoder, densities: number[], levels: readonly [number, number]): Point[] {
  const image = encoder.image;
  const n = image.width * image.height;
  // Grow the trees once, to the largest budget; the smaller ones are their prefixes.
  const sorted = [...densities].sort((a, b) => b - a);
  const tuning = { ...LOWRATE_DEFAULTS, lumaLevels: levels[0], chromaLevels: levels[1] };
  return sorted.map((d) => {
    // Closed-loop quantisation, as the rate control's final stream.
    const settings = { ...settingsFor(Math.max(1, Math.round(d * n)), tuning), closedLoop: true };
    const e = encoder.encode(settings, { decode: true });
    const decoded = e.decoded as Image;
    return { bpp: (e.bytes.length * 8) / n, psnr: psnr(image, decoded), ssim: ssim(image, decoded) };
  });
}

async function gridCurve(image: Image, densities: number[]): Promise<Point[]> {
  const n = image.width * image.height;
  const out: Point[] = [];
  for (const density of densities) {
    const encoded = await encodeImage(image, {
      selector: gridSelector(),
      density,
      backend: "diffusion",
      quantiser: defaultQuantiser(image.channels === 3 ? "ycbcr" : "none"),
    });
    const decoded = (await decodeBytes(encoded.bytes, async () => diffusionInpainter())).image;
    out.push({ bpp: (encoded.bytes.length * 8) / n, psnr: psnr(image, decoded), ssim: ssim(image, decoded) });
  }
  return out;
}

/**
 * The upper envelope of one image's curves (one per quantiser) on a log grid of rates: what the rate
 * control does, which encodes a target with every candidate quantiser and keeps the best.
 */
function envelope(curves: Point[][]): Point[] {
  const lo = Math.max(...curves.map((c) => Math.min(...c.map((p) => p.bpp))));
  const hi = Math.max(...curves.map((c) => Math.max(...c.map((p) => p.bpp))));
  const out: Point[] = [];
  for (const bpp of logGrid(Math.min(lo, hi), hi, 24)) {
    let best: Point | undefined;
    for (const c of curves) {
      const p = interpolateAt(curveOf(c, "psnr"), bpp);
      const q = interpolateAt(curveOf(c, "ssim"), bpp);
      if (p !== undefined && q !== undefined && (!best || p > best.psnr)) best = { bpp, psnr: p, ssim: q };
    }
    if (best) out.push(best);
  }
  return out;
}

const curveOf = (points: Point[], key: "psnr" | "ssim"): RdPoint[] =>
  normaliseCurve(points.map((p) => ({ bpp: p.bpp, value: p[key] })));
const inRange = (c: RdPoint[]) => c.filter((p) => p.bpp >= BD_RANGE[0] && p.bpp <= BD_RANGE[1]);

/** A smooth diagonal blend of two sky colours: the banding check's image. */
export function skyGradient(width: number, height: number): Image {
  const image = createImage(width, height, 3);
  const a = [62, 118, 196];
  const b = [214, 226, 240];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (0.35 * x) / width + (0.65 * y) / height;
      const s = t * t * (3 - 2 * t);
      for (let c = 0; c < 3; c++) image.data[(y * width + x) * 3 + c] = a[c] + (b[c] - a[c]) * s;
    }
  }
  return image;
}

/** Labels of the plotted modes (the others stay in the tables only). */
const PLOTTED: Record<string, string> = {
  "tree, best levels": "tree mode (--bpp)",
  jpeg: "JPEG (mozjpeg)",
  "grid (v1)": "diffusion, grid",
};

/** PSNR and SSIM plots (SVG and PNG) of the mean curves, as `maskcodec rd` draws them. */
async function plotCurves(files: string[], modes: Record<string, Point[][]>, prefix: string): Promise<void> {
  const records: RdRecord[] = [];
  for (const [mode, curves] of Object.entries(modes)) {
    const label = PLOTTED[mode];
    if (!label) continue;
    curves.forEach((points, i) => {
      for (const [k, p] of points.entries()) {
        records.push({
          codec: label,
          curve: label,
          config: { point: k },
          image: files[i],
          image_hash: files[i],
          width: 0,
          height: 0,
          channels: 3,
          bytes: 0,
          bpp: p.bpp,
          psnr: p.psnr,
          ssim: p.ssim,
          mae: Number.NaN,
          encode_s: 0,
          decode_s: 0,
        });
      }
    });
  }
  for (const metric of ["psnr", "ssim"] as const) {
    const svg = await renderSvg(
      rdSpec(records, metric, `Full-size Kodak (${files.length} images): ${metric.toUpperCase()}`),
    );
    await writeFile(`${prefix}-${metric}.svg`, svg);
    await writeFile(`${prefix}-${metric}.png`, await svgToPng(svg));
    console.log(`wrote ${prefix}-${metric}.svg and .png`);
  }
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The PSNR/SSIM table at the matched rates and the BD figures against JPEG; returns the means. */
function printCurves(
  files: string[],
  densities: number[],
  modes: Record<string, Point[][]>,
  source: string,
): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  console.log(
    `\n${files.length} images from ${source}; tree mode ${JSON.stringify(LOWRATE_DEFAULTS)}, densities ${densities.join(", ")}\n`,
  );
  const head = RATES.map((r) => `PSNR@${r}`).concat(RATES.map((r) => `SSIM@${r}`));
  console.log(`| mode | ${head.join(" | ")} | BD-rate vs JPEG | BD-PSNR vs JPEG |`);
  console.log(`|---|${head.map(() => "---:").join("|")}|---:|---:|`);
  for (const [mode, curves] of Object.entries(modes)) {
    const cells: string[] = [];
    const row: Record<string, number | undefined> = {};
    for (const key of ["psnr", "ssim"] as const) {
      for (const r of RATES) {
        const vs = curves.map((c) => interpolateAt(curveOf(c, key), r));
        const ok = vs.every((v) => v !== undefined);
        const m = ok ? mean(vs as number[]) : undefined;
        row[`${key}@${r}`] = m;
        cells.push(
          m === undefined
            ? `— (${vs.filter((v) => v !== undefined).length}/${vs.length})`
            : m.toFixed(key === "psnr" ? 2 : 3),
        );
      }
    }
    let bd = "anchor";
    let bdq = "anchor";
    if (mode !== "jpeg") {
      const rates: number[] = [];
      const dbs: number[] = [];
      curves.forEach((c, i) => {
        const r = bjontegaard(inRange(curveOf(modes.jpeg[i], "psnr")), inRange(curveOf(c, "psnr")));
        if (r.bdRate !== undefined) rates.push(r.bdRate);
        if (r.bdQuality !== undefined) dbs.push(r.bdQuality);
      });
      row.bd_rate = rates.length ? mean(rates) : undefined;
      row.bd_psnr = dbs.length ? mean(dbs) : undefined;
      bd =
        row.bd_rate === undefined
          ? "—"
          : `${row.bd_rate > 0 ? "+" : ""}${row.bd_rate.toFixed(1)} % (${rates.length})`;
      bdq = row.bd_psnr === undefined ? "—" : `${row.bd_psnr > 0 ? "+" : ""}${row.bd_psnr.toFixed(2)} dB`;
    }
    summary[mode] = row;
    console.log(`| ${mode} | ${cells.join(" | ")} | ${bd} | ${bdq} |`);
  }

  return summary;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: "string", default: KODAK_DIR },
      limit: { type: "string", default: "24" },
      skip: { type: "string", default: "0" },
      densities: { type: "string", default: "0.004,0.007,0.011,0.017,0.026,0.04,0.06,0.09" },
      grid: { type: "boolean", default: false },
      "grid-densities": { type: "string", default: "0.01,0.02,0.03,0.05,0.08,0.12,0.2" },
      "rate-check": { type: "string", default: "4" },
      out: { type: "string" },
      from: { type: "string" },
      plot: { type: "string" },
      levels: { type: "string" },
    },
  });
  // The quantisers whose curves make the envelope (default: the rate control's candidates).
  const candidates: ReadonlyArray<readonly [number, number]> = values.levels
    ? values.levels.split(",").map((pair) => {
        const [l, c] = pair.split("/").map(Number);
        if (!(l >= 2 && l <= 256 && c >= 2 && c <= 256)) throw new Error(`--levels: bad quantiser ${pair}`);
        return [l, c] as const;
      })
    : LEVEL_CANDIDATES;
  if (values.from) {
    // Several --out files (comma-separated, e.g. runs over --skip ranges) are joined image by image.
    const parts = await Promise.all(
      values.from.split(",").map(async (f) => JSON.parse(await readFile(f, "utf8"))),
    );
    const modes: Record<string, Point[][]> = {};
    for (const part of parts)
      for (const [m, curves] of Object.entries(part.modes)) (modes[m] ??= []).push(...(curves as Point[][]));
    const files = parts.flatMap((p) => p.files);
    // The envelope of the quantisers every part measured (parts may have measured different sets).
    const quantisers = Object.keys(modes).filter(
      (m) => /^tree \d+\/\d+$/.test(m) && modes[m].length === files.length,
    );
    for (const m of Object.keys(modes)) if (modes[m].length !== files.length) delete modes[m];
    modes["tree, best levels"] = files.map((_, i) => envelope(quantisers.map((m) => modes[m][i])));
    printCurves(files, parts[0].densities, modes, values.from);
    if (values.plot) await plotCurves(files, modes, values.plot);
    return;
  }
  const all = readdirSync(values.dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
  const files = all.slice(Number(values.skip), Number(values.skip) + Number(values.limit));
  const densities = values.densities.split(",").map(Number);
  const modes: Record<string, Point[][]> = { jpeg: [] };
  for (const [l, c] of candidates) modes[`tree ${l}/${c}`] = [];
  modes["tree, best levels"] = [];
  if (values.grid) modes["grid (v1)"] = [];
  const t0 = performance.now();
  for (const file of files) {
    const image = await readImage(join(values.dir, file));
    const t = performance.now();
    modes.jpeg.push(await jpegCurve(image));
    const encoder = new LowrateEncoder(image);
    const own = candidates.map((levels) => treeCurve(encoder, densities, levels));
    for (const [i, [l, c]] of candidates.entries()) modes[`tree ${l}/${c}`].push(own[i]);
    modes["tree, best levels"].push(envelope(own));
    if (values.grid)
      modes["grid (v1)"].push(await gridCurve(image, values["grid-densities"].split(",").map(Number)));
    if (values.out) {
      const done = files.slice(0, modes.jpeg.length);
      await writeFile(values.out, JSON.stringify({ files: done, densities, modes }, null, 1));
    }
    const at = (c: Point[]) => interpolateAt(curveOf(c, "psnr"), 0.15)?.toFixed(2) ?? "—";
    process.stderr.write(
      `${file}: PSNR@0.15 jpeg ${at(modes.jpeg.at(-1) as Point[])}, tree ${at(modes["tree, best levels"].at(-1) as Point[])} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`,
    );
  }

  const summary = files.length > 0 ? printCurves(files, densities, modes, values.dir) : {};
  if (values.plot && files.length > 0) await plotCurves(files, modes, values.plot);

  // Rate control: the file never over the target, and within 5 % below it.
  const checks = all.slice(0, Number(values["rate-check"]));
  const rateRows: Record<string, number | string>[] = [];
  if (checks.length > 0) {
    console.log("\nRate control (`encode --bpp B`):\n");
    console.log(
      "| image | target bpp | target bytes | bytes | bytes / target | PSNR | luma points | search streams |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const file of checks) {
      const image = await readImage(join(values.dir, file));
      const n = image.width * image.height;
      const encoder = new LowrateEncoder(image);
      for (const bpp of RATES) {
        const target = Math.floor((bpp * n) / 8);
        const r = encodeToSize(image, target, { encoder });
        const bytes = r.encoded.bytes.length;
        const row = {
          image: file,
          bpp,
          target,
          bytes,
          ratio: bytes / target,
          psnr: psnr(image, r.encoded.decoded as Image),
          points: r.settings.lumaPoints,
          streams: r.evaluations.plain + r.evaluations.tonal,
        };
        rateRows.push(row);
        console.log(
          `| ${file} | ${bpp} | ${target} | ${bytes} | ${row.ratio.toFixed(3)} | ${row.psnr.toFixed(2)} | ${row.points} | ${row.streams} |`,
        );
      }
    }
  }

  // Banding: a smooth sky at JPEG's file sizes.
  const sky = skyGradient(512, 384);
  const skyPixels = sky.width * sky.height;
  console.log("\nBanding check: a smooth two-colour gradient, 512×384, tree mode at each JPEG file size:\n");
  console.log(
    "| JPEG quality | bytes | JPEG PSNR | tree bytes | tree PSNR | JPEG max error | tree max error |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  const skyEncoder = new LowrateEncoder(sky);
  const bandRows: Record<string, number>[] = [];
  for (const quality of [1, 5, 10, 20, 40]) {
    const j = await jpeg.run(sky, { quality });
    let tree: ReturnType<typeof encodeToSize> | undefined;
    try {
      tree = encodeToSize(sky, j.bytes.length, { encoder: skyEncoder });
    } catch {
      tree = undefined;
    }
    const maxErr = (a: Image) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - sky.data[i])), 0);
    const row = {
      quality,
      bytes: j.bytes.length,
      jpeg_psnr: psnr(sky, j.decoded),
      tree_bytes: tree ? tree.encoded.bytes.length : Number.NaN,
      tree_psnr: tree ? psnr(sky, tree.encoded.decoded as Image) : Number.NaN,
      jpeg_max: maxErr(j.decoded),
      tree_max: tree ? maxErr(tree.encoded.decoded as Image) : Number.NaN,
    };
    bandRows.push(row);
    console.log(
      `| ${quality} | ${row.bytes} (${((row.bytes * 8) / skyPixels).toFixed(3)} bpp) | ${row.jpeg_psnr.toFixed(2)} | ${row.tree_bytes} | ${row.tree_psnr.toFixed(2)} | ${row.jpeg_max.toFixed(1)} | ${row.tree_max.toFixed(1)} |`,
    );
  }
  console.log(`\n${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
  if (values.out)
    await writeFile(
      values.out,
      JSON.stringify({ files, densities, modes, summary, rateRows, bandRows }, null, 1),
    );
}
