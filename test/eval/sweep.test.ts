import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { type CodecName, type EvalCodec, referenceCodec } from "../../src/eval/codecs.ts";
import { runRd } from "../../src/eval/rd.ts";
import { tempDir, testImage, writeTestPng } from "./helpers.ts";

let dir: string;
let images: string[];

beforeAll(async () => {
  dir = tempDir();
  images = [
    await writeTestPng(dir, "a.png", testImage(48, 40, 1)),
    await writeTestPng(dir, "b.png", testImage(40, 32, 7)),
  ];
});

/** A fake codec that counts its calls; it "encodes" to a number of bytes set by its quality. */
function countingCodecs(calls: { n: number }): (name: CodecName) => EvalCodec {
  return (name) => ({
    name,
    sweepKey: "quality",
    async run(image, config) {
      calls.n++;
      const q = config.quality as number;
      const decoded = { ...image, data: image.data.map((v) => v + (100 - q) / 10) };
      return { bytes: new Uint8Array(q * 4), decoded, encode_s: 0, decode_s: 0 };
    },
  });
}

describe("reference codecs measure the real file", () => {
  it("bpp is the size of the file sharp writes × 8 / pixels, for jpeg, webp and avif", async () => {
    const out = join(dir, "real");
    const { records } = await runRd({
      inputs: [images[0]],
      out,
      codecs: ["jpeg", "webp", "avif"],
      qualities: [30, 80],
      jobs: 1,
      noPlots: true,
    });
    expect(records).toHaveLength(6);
    for (const r of records) {
      const q = r.config.quality as number;
      let pipeline = sharp(images[0]);
      if (r.codec === "jpeg") pipeline = pipeline.jpeg({ quality: q, mozjpeg: true });
      else if (r.codec === "webp") pipeline = pipeline.webp({ quality: q });
      else pipeline = pipeline.avif({ quality: q });
      const file = join(dir, `check-${r.codec}-${q}`);
      await pipeline.toFile(file);
      expect(r.bytes).toBe(statSync(file).size);
      expect(r.bpp).toBeCloseTo((statSync(file).size * 8) / (48 * 40), 12);
      expect(r.psnr).toBeGreaterThan(20);
      expect(r.ssim).toBeGreaterThan(0.5);
      expect(r.ssim).toBeLessThanOrEqual(1);
    }
    // a higher quality setting costs more bytes and gives a higher PSNR
    for (const codec of ["jpeg", "webp", "avif"]) {
      const [lo, hi] = records.filter((r) => r.codec === codec);
      expect(hi.bytes).toBeGreaterThan(lo.bytes);
      expect(hi.psnr).toBeGreaterThan(lo.psnr);
    }
  });

  it("the decoded image is the real decode of the bytes (PSNR matches an independent decode)", async () => {
    const image = testImage(32, 24, 3);
    const run = await referenceCodec("jpeg").run(image, { quality: 40 });
    const raw = await sharp(run.bytes).raw().toBuffer();
    expect(Array.from(run.decoded.data)).toEqual(Array.from(raw));
  });
});

describe("the sweep's cache", () => {
  it("a re-run computes nothing, and only new or missing points are computed", async () => {
    const out = join(dir, "cache-test");
    const calls = { n: 0 };
    const options = {
      inputs: images,
      out,
      codecs: ["jpeg"] as CodecName[],
      qualities: [10, 50, 90],
      jobs: 1,
      codecFor: countingCodecs(calls),
      noPlots: true,
    };
    const first = await runRd(options);
    expect(calls.n).toBe(6);
    expect(first.computed).toBe(6);
    expect(readdirSync(join(out, "cache"))).toHaveLength(6);

    const second = await runRd(options);
    expect(calls.n).toBe(6);
    expect(second.cached).toBe(6);
    expect(second.records).toEqual(first.records);

    const victim = readdirSync(join(out, "cache"))[0];
    rmSync(join(out, "cache", victim));
    await runRd({ ...options, qualities: [10, 50, 90, 95] });
    expect(calls.n).toBe(6 + 1 + 2); // the deleted point, and quality 95 on both images
  });

  it("a damaged cache entry is recomputed rather than trusted", async () => {
    const out = join(dir, "damaged");
    const calls = { n: 0 };
    const options = {
      inputs: [images[0]],
      out,
      codecs: ["jpeg"] as CodecName[],
      qualities: [20],
      jobs: 1,
      codecFor: countingCodecs(calls),
      noPlots: true,
    };
    await runRd(options);
    const [entry] = readdirSync(join(out, "cache"));
    writeFileSync(join(out, "cache", entry), "{ truncated");
    await runRd(options);
    expect(calls.n).toBe(2);
  });

  it("an aborted sweep keeps its finished points and the re-run does the rest", async () => {
    const out = join(dir, "abort");
    const calls = { n: 0 };
    const controller = new AbortController();
    const counting = countingCodecs(calls);
    const codecFor = (name: CodecName): EvalCodec => {
      const inner = counting(name);
      return {
        ...inner,
        async run(image, config) {
          const result = await inner.run(image, config);
          if (calls.n === 2) controller.abort(); // interrupt after the second point
          return result;
        },
      };
    };
    const options = {
      inputs: [images[0]],
      out,
      codecs: ["jpeg"] as CodecName[],
      qualities: [10, 20, 30, 40],
      jobs: 1,
      codecFor,
      noPlots: true,
    };
    await expect(runRd({ ...options, signal: controller.signal })).rejects.toMatchObject({
      code: "ERR_INTERRUPTED",
    });
    const cachedAfterAbort = readdirSync(join(out, "cache")).length;
    expect(cachedAfterAbort).toBeGreaterThanOrEqual(1);
    const callsBefore = calls.n;
    const resumed = await runRd(options);
    expect(resumed.cached).toBe(cachedAfterAbort);
    expect(calls.n - callsBefore).toBe(4 - cachedAfterAbort);
  });
});

describe("outputs", () => {
  it("writes rd.json and rd.csv with the same rows, and PSNR/SSIM plots as SVG and PNG", async () => {
    const out = join(dir, "outputs");
    const calls = { n: 0 };
    const { records, files } = await runRd({
      inputs: images,
      out,
      codecs: ["jpeg", "webp"],
      qualities: [10, 40, 70, 95],
      jobs: 1,
      codecFor: countingCodecs(calls),
    });
    const json = JSON.parse(readFileSync(join(out, "rd.json"), "utf8"));
    expect(json).toEqual(records);
    for (const key of ["codec", "config", "image", "bpp", "psnr", "ssim", "mae", "encode_s", "decode_s"]) {
      expect(json[0]).toHaveProperty(key);
    }
    const csv = readFileSync(join(out, "rd.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(records.length + 1);
    expect(csv[0].split(",").slice(0, 4)).toEqual(["codec", "curve", "config", "image"]);
    expect(csv[1].split(",")[2]).toBe("quality=10");
    for (const metric of ["psnr", "ssim"]) {
      const svg = readFileSync(join(out, `rd-${metric}.svg`), "utf8");
      expect(svg).toContain("<svg");
      expect(svg).toContain("rate (bits per pixel)");
      expect(svg).toContain(metric === "psnr" ? "PSNR (dB)" : "SSIM");
      expect(svg).toContain("webp"); // legend entry
      const meta = await sharp(join(out, `rd-${metric}.png`)).metadata();
      expect(meta.format).toBe("png");
      expect(meta.width).toBeGreaterThan(600);
    }
    expect(files).toContain(join(out, "summary.md"));
  });

  it("runs on worker threads with the same results as in this thread", async () => {
    const base = { inputs: images, codecs: ["jpeg"] as CodecName[], qualities: [25, 75], noPlots: true };
    const inThread = await runRd({ ...base, out: join(dir, "w1"), jobs: 1 });
    const onWorkers = await runRd({ ...base, out: join(dir, "w2"), jobs: 2 });
    expect(onWorkers.computed).toBe(4);
    const strip = (rs: typeof inThread.records) => rs.map(({ encode_s, decode_s, ...rest }) => rest);
    expect(strip(onWorkers.records)).toEqual(strip(inThread.records));
  });
});
