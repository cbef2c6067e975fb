/**
 * Mask coding: coded size against n·H(p) for uniformly random and regular grid masks, and the speed of
 * this package's range coder against the `arithmetic-coding` npm package driving the very same context
 * model (same contexts, same adaptive counts: only the coding engine differs).
 *
 *   npm run bench -- mask-coding [--width 768] [--height 512] [--repeat 5] [--ps]
 *
 * --ps adds masks chosen by probabilistic sparsification on 256×256 centre crops of three Kodak images
 * (slow: PS takes tens of seconds per mask here).
 *
 * With --levels it instead measures the quantiser trade-off that chose the codec's default levels: bpp
 * and PSNR of the whole codec (diffusion inpainting) on Kodak images for several luma/chroma level pairs,
 * and PSNR interpolated at equal bpp.
 *
 *   npm run bench -- mask-coding --levels [--images 3] [--masks random,grid]
 *
 * With --values: bits per known pixel of the values section alone (Kodak, YCbCr, random and grid masks).
 *
 *   npm run bench -- mask-coding --values [--files 01,05,13,23] [--levels-list 16/16,64/32]
 */
import { createRequire } from "node:module";
import type { BitCoder } from "../src/codec/bitio.ts";
import { codeMask, decodeMask, encodeMask } from "../src/codec/maskcoder.ts";
import { type BinaryContexts, updateContext } from "../src/codec/rangecoder.ts";
import { createMask, type Mask, maskCount } from "../src/image/types.ts";
// The same synthetic masks the tests assert on, so the bench prints the figures the tests check.
import { entropy, gridMask, randomMask } from "../test/codec/helpers.ts";

const require = createRequire(import.meta.url);

// The package's engine (CommonJS, no types): a 31-bit arithmetic coder over frequency tables.
interface Freqs {
  total: number;
  symbolLimit: number;
  getLow(s: number): number;
  getHigh(s: number): number;
}
interface PkgEncoder {
  write(freqs: Freqs, symbol: number): void;
  finish(): void;
}
interface PkgDecoder {
  read(freqs: Freqs): number;
}
const ArithmeticEncoder = require("arithmetic-coding/src/arithmetic-encoder.js") as new (
  bits: number,
  out: unknown,
) => PkgEncoder;
const ArithmeticDecoder = require("arithmetic-coding/src/arithmetic-decoder.js") as new (
  bits: number,
  input: unknown,
) => PkgDecoder;
const BitOutputStreamToBuffer = require("arithmetic-coding/src/bit-output-stream-buffer.js") as new () => {
  buffer: Buffer;
};
const BitInputStreamFromBuffer = require("arithmetic-coding/src/bit-input-stream-buffer.js") as new (
  b: Buffer,
) => unknown;
const FrequencyTable = require("arithmetic-coding/src/frequency-table.js") as new (
  f: number[],
) => Freqs & { set(s: number, f: number): void };

/** A two-symbol frequency table read from our context counts (no allocation per bit). */
class ContextFreqs implements Freqs {
  c0 = 1;
  c1 = 1;
  readonly symbolLimit = 2;
  get total(): number {
    return this.c0 + this.c1;
  }
  getLow(s: number): number {
    return s === 0 ? 0 : this.c0;
  }
  getHigh(s: number): number {
    return s === 0 ? this.c0 : this.c0 + this.c1;
  }
}

/** The package's engine behind our BitCoder interface; `useTable` uses its own FrequencyTable class. */
class PackageBitCoder implements BitCoder {
  private readonly freqs = new ContextFreqs();
  private readonly table = new FrequencyTable([1, 1]);
  constructor(
    private readonly engine: { enc?: PkgEncoder; dec?: PkgDecoder },
    private readonly useTable: boolean,
  ) {}
  bit(ctx: BinaryContexts, k: number, b: number): number {
    const i = 2 * k;
    let f: Freqs;
    if (this.useTable) {
      this.table.set(0, ctx.counts[i]);
      this.table.set(1, ctx.counts[i + 1]);
      f = this.table;
    } else {
      this.freqs.c0 = ctx.counts[i];
      this.freqs.c1 = ctx.counts[i + 1];
      f = this.freqs;
    }
    const bit = this.code(f, b);
    updateContext(ctx, i, bit);
    return bit;
  }
  even(b: number): number {
    this.freqs.c0 = 1;
    this.freqs.c1 = 1;
    return this.code(this.freqs, b);
  }
  private code(f: Freqs, b: number): number {
    if (!this.engine.enc) return (this.engine.dec as PkgDecoder).read(f);
    this.engine.enc.write(f, b);
    return b;
  }
  evenBits(value: number, nbits: number): number {
    let v = 0;
    for (let b = nbits - 1; b >= 0; b--) v = v * 2 + this.even((value >>> b) & 1);
    return v;
  }
}

function packageEncode(mask: Mask, useTable: boolean): Buffer {
  const out = new BitOutputStreamToBuffer();
  const enc = new ArithmeticEncoder(31, out);
  codeMask(
    Uint8Array.from(mask.data),
    mask.width,
    mask.height,
    maskCount(mask),
    new PackageBitCoder({ enc }, useTable),
  );
  enc.finish();
  return out.buffer;
}

function packageDecode(bytes: Buffer, width: number, height: number, count: number, useTable: boolean): Mask {
  const dec = new ArithmeticDecoder(31, new BitInputStreamFromBuffer(bytes));
  const mask = createMask(width, height);
  codeMask(mask.data, width, height, count, new PackageBitCoder({ dec }, useTable));
  return mask;
}

// ------------------------------------------------------------------------------------------ masks

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function run(args: string[]): Promise<void> {
  if (args.includes("--levels")) return levelsTradeOff(args);
  if (args.includes("--values")) return valueBits(args);
  const width = arg(args, "width", 768);
  const height = arg(args, "height", 512);
  const repeat = arg(args, "repeat", 5);
  const n = width * height;

  console.log(
    `\nMask coding, ${width}×${height} (n = ${n}); ratio = coded bits / n·H(p) with p the mask's density\n`,
  );
  console.log("| mask | p | known | coded bits | n·H(p) bits | ratio |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const kind of ["random", "grid", "staggered grid"]) {
    for (const p of [0.01, 0.02, 0.05, 0.1, 0.2]) {
      const mask =
        kind === "random"
          ? randomMask(width, height, p, 1000 * p)
          : gridMask(width, height, p, kind !== "grid");
      const count = maskCount(mask);
      const coded = encodeMask(mask, count);
      const back = decodeMask(coded, 0, coded.length, width, height, count);
      if (!back.data.every((v, i) => v === mask.data[i])) throw new Error("mask round trip failed");
      const ideal = n * entropy(count / n);
      console.log(
        `| ${kind} | ${p} | ${count} | ${coded.length * 8} | ${ideal.toFixed(0)} | ${((coded.length * 8) / ideal).toFixed(4)} |`,
      );
    }
  }

  if (args.includes("--ps")) await psMasks();

  console.log(
    `\nCoding engines on the same context model (random mask; the engines take turns, ${repeat} rounds, medians)\n`,
  );
  console.log(
    "| p | engine | bytes | size vs ours | encode ms | decode ms | encode Mpixel/s | decode Mpixel/s | decode time vs ours |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const p of [0.02, 0.1]) {
    const mask = randomMask(width, height, p, 77);
    const count = maskCount(mask);
    const engines = [
      {
        name: "maskcodec range coder",
        encode: () => encodeMask(mask, count),
        decode: (b: Uint8Array) => decodeMask(b, 0, b.length, width, height, count),
      },
      {
        name: "arithmetic-coding (engine, light table)",
        encode: () => packageEncode(mask, false),
        decode: (b: Uint8Array) => packageDecode(b as Buffer, width, height, count, false),
      },
      {
        name: "arithmetic-coding (its FrequencyTable)",
        encode: () => packageEncode(mask, true),
        decode: (b: Uint8Array) => packageDecode(b as Buffer, width, height, count, true),
      },
    ];
    const enc = engines.map(() => [] as number[]);
    const dec = engines.map(() => [] as number[]);
    const sizes = engines.map(() => 0);
    for (let r = 0; r < repeat; r++) {
      engines.forEach((engine, k) => {
        let t0 = performance.now();
        const bytes = engine.encode();
        enc[k].push(performance.now() - t0);
        t0 = performance.now();
        const back = engine.decode(bytes);
        dec[k].push(performance.now() - t0);
        sizes[k] = bytes.length;
        if (!back.data.every((v, i) => v === mask.data[i]))
          throw new Error(`${engine.name}: round trip failed`);
      });
    }
    const oursDec = median(dec[0]);
    engines.forEach((engine, k) => {
      const e = median(enc[k]);
      const d = median(dec[k]);
      console.log(
        `| ${p} | ${engine.name} | ${sizes[k]} | ${(sizes[k] / sizes[0]).toFixed(4)} | ${e.toFixed(1)} | ${d.toFixed(1)} | ${(n / e / 1000).toFixed(1)} | ${(n / d / 1000).toFixed(1)} | ${(d / oursDec).toFixed(2)} |`,
      );
    });
  }
}

async function psMasks(): Promise<void> {
  const { join } = await import("node:path");
  const { readImage, centreCrop } = await import("../src/image/io.ts");
  const { psSelector } = await import("../src/baselines/ps.ts");
  const dir = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");
  console.log("\nPS masks (256×256 centre crops of Kodak images)\n");
  console.log("| image | p | known | coded bits | n·H(p) bits | ratio |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const file of ["kodim05.png", "kodim13.png", "kodim21.png"]) {
    const image = centreCrop(await readImage(join(dir, file)), 256);
    for (const p of [0.02, 0.05, 0.1]) {
      const mask = await psSelector({ seed: 1 }).select(image, p);
      const count = maskCount(mask);
      const coded = encodeMask(mask, count);
      const n = image.width * image.height;
      const ideal = n * entropy(count / n);
      console.log(
        `| ${file} | ${p} | ${count} | ${coded.length * 8} | ${ideal.toFixed(0)} | ${((coded.length * 8) / ideal).toFixed(4)} |`,
      );
    }
  }
}

async function valueBits(args: string[]): Promise<void> {
  const { join } = await import("node:path");
  const { readImage } = await import("../src/image/io.ts");
  const { gridSelector, randomSelector } = await import("../src/baselines/selectors.ts");
  const { writeStream, FORMAT_VERSION } = await import("../src/codec/stream.ts");
  const dir = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");
  const filesArg = args.indexOf("--files");
  const files = (filesArg >= 0 ? args[filesArg + 1] : "01,05,13,23").split(",").map((f) => `kodim${f}.png`);
  const levelsArg = args.indexOf("--levels-list");
  const settings = (levelsArg >= 0 ? args[levelsArg + 1] : "16/16,64/32")
    .split(",")
    .map((s) => s.split("/").map(Number));
  const images = await Promise.all(files.map((f) => readImage(join(dir, f))));
  console.log(`\nValues section, bits per known pixel (3 channels, YCbCr), Kodak ${files.join(", ")}\n`);
  console.log("| levels | mask | p = 0.02 | p = 0.05 | p = 0.1 | writeStream ms (p = 0.05, mean) |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [luma, chroma] of settings) {
    for (const kind of ["random", "grid"]) {
      const selector = kind === "grid" ? gridSelector() : randomSelector({ seed: 7 });
      const cells: string[] = [];
      let ms = 0;
      for (const p of [0.02, 0.05, 0.1]) {
        let bits = 0;
        let known = 0;
        for (const image of images) {
          const mask = await selector.select(image, p);
          const t0 = performance.now();
          const { sizes } = writeStream({
            header: {
              version: FORMAT_VERSION,
              width: image.width,
              height: image.height,
              channels: image.channels,
              colour: "ycbcr",
              backend: "diffusion",
              quantiser: { lumaLevels: luma, chromaLevels: chroma },
            },
            mask,
            values: image,
          });
          if (p === 0.05) ms += (performance.now() - t0) / images.length;
          bits += sizes.values * 8;
          known += maskCount(mask);
        }
        cells.push((bits / known).toFixed(3));
      }
      console.log(`| ${luma}/${chroma} | ${kind} | ${cells.join(" | ")} | ${ms.toFixed(1)} |`);
    }
  }
}

// ------------------------------------------------------------------------------------ levels trade-off

const LEVEL_SETTINGS: Array<[number, number]> = [
  [8, 8],
  [16, 8],
  [16, 16],
  [32, 16],
  [32, 32],
  [64, 16],
  [64, 32],
  [128, 64],
  [256, 256],
];

function interpolate(points: Array<[number, number]>, x: number): number | undefined {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [x0, y0] = sorted[i];
    const [x1, y1] = sorted[i + 1];
    if (x >= x0 && x <= x1) return x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return undefined;
}

async function levelsTradeOff(args: string[]): Promise<void> {
  const { readdirSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { readImage, centreCrop } = await import("../src/image/io.ts");
  const { psnr } = await import("../src/image/metrics.ts");
  const { diffusionInpainter } = await import("../src/baselines/diffusion.ts");
  const { gridSelector, randomSelector } = await import("../src/baselines/selectors.ts");
  const { psSelector } = await import("../src/baselines/ps.ts");
  const { encodeImage, decodeBytes } = await import("../src/codec/codec.ts");
  const imageCount = arg(args, "images", 3);
  const crop = arg(args, "crop", 0);
  const maskArg = args.indexOf("--masks");
  const maskKinds = maskArg >= 0 ? args[maskArg + 1].split(",") : ["random", "grid"];
  const densities = [0.02, 0.05, 0.1, 0.2];
  const dir = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");
  const all = readdirSync(dir)
    .filter((f) => f.endsWith(".png"))
    .sort();
  // Spread over the set rather than the first few.
  const files = Array.from(
    { length: imageCount },
    (_, k) => all[Math.floor(((k + 0.5) * all.length) / imageCount)],
  );
  const images = await Promise.all(
    files.map(async (f) => {
      const image = await readImage(join(dir, f));
      return crop > 0 ? centreCrop(image, crop) : image;
    }),
  );
  const inpainter = diffusionInpainter();
  const size = `${images[0].width}×${images[0].height}${crop > 0 ? " centre crops" : ""}`;
  console.log(
    `\nQuantiser levels (YCbCr): Kodak ${files.join(", ")} (${size}); diffusion inpainting; means over the images\n`,
  );
  console.log("| mask | density | luma/chroma levels | bpp | bpp values | PSNR dB |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  const curves = new Map<string, Map<string, Array<[number, number]>>>();
  for (const kind of maskKinds) {
    const base =
      kind === "grid"
        ? gridSelector()
        : kind === "ps"
          ? psSelector({ seed: 1 })
          : randomSelector({ seed: 1 });
    curves.set(kind, new Map());
    for (const density of densities) {
      const masks = await Promise.all(images.map((image) => base.select(image, density)));
      const rows: string[] = [];
      for (const [luma, chroma] of LEVEL_SETTINGS) {
        let bpp = 0;
        let bppValues = 0;
        let quality = 0;
        for (let k = 0; k < images.length; k++) {
          const image = images[k];
          const pixels = image.width * image.height;
          const encoded = await encodeImage(image, {
            selector: { id: kind, select: async () => masks[k] },
            density,
            backend: "diffusion",
            colour: "ycbcr",
            quantiser: { lumaLevels: luma, chromaLevels: chroma },
          });
          const decoded = await decodeBytes(encoded.bytes, async () => inpainter);
          bpp += (encoded.bytes.length * 8) / pixels / images.length;
          bppValues += (encoded.sizes.values * 8) / pixels / images.length;
          quality += psnr(image, decoded.image) / images.length;
        }
        const levels = `${luma}/${chroma}`;
        const curve = curves.get(kind) as Map<string, Array<[number, number]>>;
        if (!curve.has(levels)) curve.set(levels, []);
        curve.get(levels)?.push([bpp, quality]);
        rows.push(
          `| ${kind} | ${density} | ${levels} | ${bpp.toFixed(4)} | ${bppValues.toFixed(4)} | ${quality.toFixed(3)} |`,
        );
      }
      console.log(rows.join("\n"));
    }
  }
  console.log(
    "\nPSNR (dB) at equal bpp, interpolated linearly between the densities' points of each setting\n",
  );
  for (const [kind, curve] of curves) {
    const lo = Math.max(...[...curve.values()].map((pts) => Math.min(...pts.map((p) => p[0]))));
    const hi = Math.min(...[...curve.values()].map((pts) => Math.max(...pts.map((p) => p[0]))));
    const targets = [0.2, 0.5, 0.8].map((f) => Number((lo + f * (hi - lo)).toFixed(3)));
    console.log(`| ${kind}: levels | ${targets.map((t) => `${t} bpp`).join(" | ")} |`);
    console.log(`| --- | ${targets.map(() => "---").join(" | ")} |`);
    for (const [levels, points] of curve) {
      const cells = targets.map((t) => interpolate(points, t)?.toFixed(3) ?? "-");
      console.log(`| ${levels} | ${cells.join(" | ")} |`);
    }
    console.log("");
  }
}
