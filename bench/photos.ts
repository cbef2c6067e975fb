/**
 * Photo sizes: wall time and peak memory of the `maskcodec` CLI itself (start-up, model loading, PNG reading
 * and writing included) encoding and decoding photos of 0.4, 2, 8 and 12 megapixels with both backends and
 * their default masks, beside the targets.
 *
 * The photos are a Kodak image (kodim01 by default, 768×512 = 0.4 MP) and Lanczos upscales of it to
 * 1632×1224, 3264×2448 and 4000×3000, written once to runs/photos/ (ignored by git). Each command runs
 * as its own process; wall time is the median of --repeat runs, peak RSS (the kernel's maximum resident set
 * size of the process) the largest. RSS comes from `/usr/bin/time -v` where it exists, else from polling
 * /proc/PID/status (VmHWM). The diffusion solver uses one thread; the networks' tiles run on `--threads`
 * worker threads (default 1 here, since the targets are for one core; the CLI's own default is 2).
 *
 *   npm run bench -- photos [--sizes 0.4,2,8,12,limit] [--backends gan,diffusion,tree] [--density 0.05]
 *                           [--bpp 0.15] [--repeat 3] [--image kodim01] [--threads 1] [--out FILE.json]
 *                           [--baseline-version 3]
 *
 * `--baseline-version V` also decodes each gan and diffusion stream relabelled as format version V (the same
 * mask and values; version 3 runs the networks in float32, version 5 in 16-bit products, version 6 the
 * diffusion solve in float64), each run right after the stream's own decode, and prints both times and their
 * ratio: a baseline measured in the same run.
 *
 * Backend `tree` is the tree mode with rate control (`encode --bpp`, not in the defaults: minutes per encode
 * above Kodak size).
 *
 * `--seams SIZE` instead measures what tiling costs in quality at a size where untiled inference still fits
 * (0.4 or 2): the gan backend's reconstruction of the photo with the decoder's tiling against one untiled
 * window (same mask and stored values), in the whole image and within 8 pixels of the cores' borders.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { encodeImage } from "../src/codec/codec.ts";
import { crc32 } from "../src/codec/crc32.ts";
import { storedLevels } from "../src/codec/quantiser.ts";
import {
  diffusionDecodeArithmetic,
  diffusionInputTolerance,
  FORMAT_VERSION,
  networkArithmetic,
} from "../src/codec/stream.ts";
import { readImage } from "../src/image/io.ts";
import { psnr } from "../src/image/metrics.ts";
import { createImage, type Image } from "../src/image/types.ts";
import { defaultModelDir, loadGanModel } from "../src/nets/gan-backend.ts";
import { decoderTiling, UNTILED } from "../src/nets/tiling.ts";
import { fixCrc } from "../test/codec/helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const KODAK = join(ROOT, "..", "shared", "datasets", "kodak");
const BIN = join(ROOT, "bin", "maskcodec.js");
const PHOTOS = join(ROOT, "runs", "photos");
const TIME = "/usr/bin/time";

/** Sizes by their megapixels; 0.4 is the Kodak original, "limit" the format's MAX_PIXELS (4096 × 3072). */
const SIZES: Record<string, [number, number]> = {
  "0.4": [768, 512],
  "2": [1632, 1224],
  "8": [3264, 2448],
  "12": [4000, 3000],
  limit: [4096, 3072],
};

/** The targets (seconds) for whole-process wall time on one core; peak RSS at most 1.5 GB everywhere. */
const TARGETS: Record<string, Record<string, { encode: number; decode: number }>> = {
  "0.4": { gan: { encode: 3, decode: 2 }, diffusion: { encode: 10, decode: 0.3 } },
  "12": { gan: { encode: 45, decode: 30 }, diffusion: { encode: 60, decode: 8 } },
};
const RSS_TARGET_MB = 1536;

interface Measure {
  seconds: number;
  /** User + system CPU seconds of the process (from /usr/bin/time; NaN without it). */
  cpu: number;
  rssMb: number;
  code: number;
  stderr: string;
}

/** Runs `node bin/maskcodec.js ...args`, returning wall seconds and peak RSS. */
function measure(args: string[]): Promise<Measure> {
  const viaTime = existsSync(TIME);
  const command = viaTime ? TIME : process.execPath;
  const argv = viaTime ? ["-v", process.execPath, BIN, ...args] : [BIN, ...args];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    let polledKb = 0;
    const poll = viaTime
      ? undefined
      : setInterval(() => {
          try {
            const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
            const m = /VmHWM:\s+(\d+)/.exec(status);
            if (m) polledKb = Math.max(polledKb, Number(m[1]));
          } catch {
            // exited between polls
          }
        }, 20);
    child.on("error", reject);
    child.on("close", (code) => {
      if (poll) clearInterval(poll);
      const seconds = (performance.now() - start) / 1000;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const kb = m ? Number(m[1]) : polledKb;
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const cpu = user && system ? Number(user[1]) + Number(system[1]) : Number.NaN;
      const own = viaTime ? stderr.split("\n\tCommand being timed")[0] : stderr;
      resolve({ seconds, cpu, rssMb: kb / 1024, code: code ?? -1, stderr: own.trim() });
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function photo(image: string, size: string): Promise<string> {
  const [w, h] = SIZES[size];
  const source = join(KODAK, `${image}.png`);
  if (size === "0.4") return source;
  mkdirSync(PHOTOS, { recursive: true });
  const path = join(PHOTOS, `${image}-${w}x${h}.png`);
  if (!existsSync(path)) {
    await sharp(source)
      .resize(w, h, { fit: "fill", kernel: "lanczos3" })
      .png({ compressionLevel: 1 })
      .toFile(path);
  }
  return path;
}

/** A stream with its version byte set to `version` and its CRC-32 fixed: the same mask and values. */
function relabel(bytes: Uint8Array, version: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[3] = version;
  return fixCrc(out, crc32);
}

const fmt = (s: number) => (s < 10 ? s.toFixed(2) : s.toFixed(1));

/** An image rounded and clipped to 8 bits, as the decoder writes it. */
function asWritten(image: Image): Image {
  return createImage(
    image.width,
    image.height,
    image.channels,
    image.data.map((v) => Math.min(255, Math.max(0, Math.round(v)))),
  );
}

/** Tiled against untiled gan inpainting of one photo: the error tiling adds, overall and at core borders. */
async function seams(image: string, size: string, density: number): Promise<void> {
  const original = await readImage(await photo(image, size));
  const { width: w, height: h, channels } = original;
  const model = await loadGanModel(defaultModelDir(density));
  const encoded = await encodeImage(original, {
    selector: model.selector(),
    density,
    backend: "gan",
    modelId: model.id,
    weightHash: model.weightHash.slice(0, 16),
  });
  const stored = storedLevels(encoded.header.quantiser, encoded.header.colour);
  let t = performance.now();
  // the decoder's arithmetic and diffusion input for the streams this build writes
  const windows = {
    arithmetic: networkArithmetic(FORMAT_VERSION),
    diffusionTolerance: (pixels: number) => diffusionInputTolerance(FORMAT_VERSION, pixels),
  };
  const untiled = await model.inpainter(UNTILED, windows).inpaint(encoded.known, encoded.mask, stored);
  const untiledSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const tiling = decoderTiling(FORMAT_VERSION);
  const tiled = await model.inpainter(tiling, windows).inpaint(encoded.known, encoded.mask, stored);
  const tiledSeconds = (performance.now() - t) / 1000;
  const { core } = tiling;
  let all = 0;
  let border = 0;
  let borderCount = 0;
  let max = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // within 8 pixels of a border between two cores (not the image's own edges)
      const near = (v: number, n: number) => {
        for (let b = core; b < n; b += core) if (v >= b - 8 && v < b + 8) return true;
        return false;
      };
      const atBorder = near(x, w) || near(y, h);
      for (let c = 0; c < channels; c++) {
        const i = (y * w + x) * channels + c;
        const d = tiled.data[i] - untiled.data[i];
        all += d * d;
        max = Math.max(max, Math.abs(d));
        if (atBorder) {
          border += d * d;
          borderCount++;
        }
      }
    }
  }
  console.log(
    `# seams: ${image} ${w}×${h}, density ${density}, model ${model.id}, tiles ${core} + ${tiling.margin} margin (format version ${FORMAT_VERSION})`,
  );
  console.log("| | value |");
  console.log("| --- | --- |");
  console.log(
    `| RMSE tiled vs untiled, whole image (0–255) | ${Math.sqrt(all / (w * h * channels)).toFixed(4)} |`,
  );
  console.log(
    `| RMSE tiled vs untiled, within 8 px of core borders | ${borderCount ? Math.sqrt(border / borderCount).toFixed(4) : "no borders"} |`,
  );
  console.log(`| largest difference | ${max.toFixed(2)} |`);
  console.log(
    `| PSNR of the written image: untiled / tiled (dB) | ${psnr(original, asWritten(untiled)).toFixed(3)} / ${psnr(original, asWritten(tiled)).toFixed(3)} |`,
  );
  console.log(
    `| inpainting seconds in-process: untiled / tiled | ${fmt(untiledSeconds)} / ${fmt(tiledSeconds)} |`,
  );
  console.log(`| process RSS after both (MB) | ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} |`);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string", default: "0.4,2,8,12" },
      backends: { type: "string", default: "gan,diffusion" },
      density: { type: "string", default: "0.05" },
      bpp: { type: "string", default: "0.15" },
      repeat: { type: "string", default: "3" },
      image: { type: "string", default: "kodim01" },
      out: { type: "string" },
      seams: { type: "string" },
      threads: { type: "string", default: "1" },
      "baseline-version": { type: "string" },
    },
  });
  if (values.seams) {
    if (!SIZES[values.seams]) throw new Error(`unknown size ${values.seams}`);
    await seams(values.image, values.seams, Number(values.density));
    return;
  }
  const sizes = values.sizes.split(",");
  for (const s of sizes) if (!SIZES[s]) throw new Error(`unknown size ${s} (one of ${Object.keys(SIZES)})`);
  const backends = values.backends.split(",");
  const repeat = Number(values.repeat);
  const density = values.density;
  const work = join(ROOT, "runs", "photos-bench");
  mkdirSync(work, { recursive: true });
  console.log(
    `# photos: ${values.image} and its upscales, density ${density} (tree: --bpp ${values.bpp}), --threads ${values.threads}, median of ${repeat} (wall), peak RSS the largest`,
  );
  console.log(
    `# load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    "| size | backend | encode s (CPU s) | encode peak RSS MiB | decode s (CPU s) | decode peak RSS MiB | target encode / decode s (RSS ≤ 1536 MiB) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  const rows: unknown[] = [];
  for (const size of sizes) {
    const input = await photo(values.image, size);
    const [w, h] = SIZES[size];
    for (const backend of backends) {
      const stream = join(work, `${backend}-${size}.mgc`);
      const output = join(work, `${backend}-${size}.png`);
      const enc: Measure[] = [];
      const dec: Measure[] = [];
      const base: Measure[] = [];
      const baseline = backend === "tree" ? undefined : values["baseline-version"];
      for (let k = 0; k < repeat; k++) {
        const how = backend === "tree" ? ["--bpp", values.bpp] : ["--density", density, "--backend", backend];
        const threads = ["--threads", values.threads];
        enc.push(await measure(["encode", input, "-o", stream, ...how, ...threads, "--force"]));
        if (enc.at(-1)?.code !== 0) break;
        dec.push(await measure(["decode", stream, "-o", output, ...threads, "--force"]));
        if (dec.at(-1)?.code !== 0) break;
        if (baseline) {
          const relabelled = join(work, `${backend}-${size}-v${baseline}.mgc`);
          writeFileSync(relabelled, relabel(readFileSync(stream), Number(baseline)));
          base.push(await measure(["decode", relabelled, "-o", `${relabelled}.png`, ...threads, "--force"]));
          if (base.at(-1)?.code !== 0) break;
        }
      }
      const failed = [...enc, ...dec, ...base].find((m) => m.code !== 0);
      const target = TARGETS[size]?.[backend];
      const targetText = target ? `${target.encode} / ${target.decode}` : "– / –";
      if (failed) {
        console.log(
          `| ${w}×${h} | ${backend} | failed (exit ${failed.code}): ${failed.stderr.split("\n").at(-1)} | | | | ${targetText} |`,
        );
        rows.push({ size, width: w, height: h, backend, failed: failed.stderr });
        continue;
      }
      const row = {
        size,
        width: w,
        height: h,
        backend,
        encodeSeconds: median(enc.map((m) => m.seconds)),
        encodeCpu: median(enc.map((m) => m.cpu)),
        encodeRssMb: Math.max(...enc.map((m) => m.rssMb)),
        decodeSeconds: median(dec.map((m) => m.seconds)),
        decodeCpu: median(dec.map((m) => m.cpu)),
        decodeRssMb: Math.max(...dec.map((m) => m.rssMb)),
        baselineVersion: baseline ? Number(baseline) : undefined,
        baselineDecodeSeconds: base.length ? median(base.map((m) => m.seconds)) : undefined,
        target,
      };
      rows.push(row);
      const mark = (value: number, limit?: number) =>
        limit === undefined ? "" : value <= limit ? " ✓" : " ✗";
      console.log(
        `| ${w}×${h} | ${backend} | ${fmt(row.encodeSeconds)}${mark(row.encodeSeconds, target?.encode)} (${fmt(row.encodeCpu)}) | ` +
          `${row.encodeRssMb.toFixed(0)}${mark(row.encodeRssMb, RSS_TARGET_MB)} | ` +
          `${fmt(row.decodeSeconds)}${mark(row.decodeSeconds, target?.decode)} (${fmt(row.decodeCpu)}) | ` +
          `${row.decodeRssMb.toFixed(0)}${mark(row.decodeRssMb, RSS_TARGET_MB)} | ${targetText} |`,
      );
      if (row.baselineDecodeSeconds !== undefined) {
        const ratio = row.baselineDecodeSeconds / row.decodeSeconds;
        // what may differ between the versions: the networks' products, the diffusion solves' arithmetic
        const arithmetic = (v: number) =>
          backend === "gan"
            ? `networks ${networkArithmetic(v)}, diffusion input ${diffusionDecodeArithmetic(v)}`
            : `solve ${diffusionDecodeArithmetic(v)}`;
        console.log(
          `| | | decode of the same stream as version ${baseline} (${arithmetic(Number(baseline))}): ${fmt(row.baselineDecodeSeconds)} s, ${ratio.toFixed(2)}× the time of version ${FORMAT_VERSION} (${arithmetic(FORMAT_VERSION)}) | | | | |`,
        );
      }
    }
  }
  console.log(
    `# load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  if (values.out) {
    await writeFile(
      values.out,
      `${JSON.stringify({ density, bpp: values.bpp, repeat, image: values.image, rows }, null, 2)}\n`,
    );
  }
}
