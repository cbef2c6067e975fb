import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStream } from "../../src/codec/stream.ts";
import type { StreamHeader } from "../../src/codec/types.ts";
import { DEFAULT_DIFFUSION_MASKS, masksFor } from "../../src/eval/plan.ts";
import { writePng } from "../../src/image/io.ts";
import { createImage, createMask } from "../../src/image/types.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "maskcodec.js");
const dir = mkdtempSync(join(tmpdir(), "maskcodec-cli-"));
const photo = join(dir, "photo.png");

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A user mistake: non-zero exit, exactly one line on stderr, no stack trace. */
function expectCleanFailure(r: ReturnType<typeof cli>, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** Files in the working folder, to check that a failure left nothing behind. */
const listing = () => readdirSync(dir).sort();

/** A PNG file with the given header size and a tiny (wrong) body: enough for decoders to read the size. */
function pngWithSize(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(16))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

beforeAll(async () => {
  const image = createImage(48, 32, 3);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 48; x++) {
      const i = (y * 48 + x) * 3;
      image.data.set([4 * x, 6 * y, 128 + 60 * Math.sin(x / 5)], i);
    }
  await writePng(image, photo);
});

describe("maskcodec CLI", () => {
  it("encodes and decodes an image, reporting the figures as JSON", () => {
    const e = cli(
      "encode",
      "photo.png",
      "-o",
      "enc.mgc",
      "--density",
      "0.1",
      "--backend",
      "diffusion",
      "--mask",
      "random",
      "--json",
    );
    expect(e.stderr).toBe("");
    expect(e.code).toBe(0);
    const encoded = JSON.parse(e.stdout);
    expect(encoded.bytes).toBe(readFileSync(join(dir, "enc.mgc")).length);
    expect(encoded.bpp).toBeCloseTo((encoded.bytes * 8) / (48 * 32), 10);
    for (const key of ["width", "height", "density", "backend", "seconds", "psnr", "ssim"])
      expect(encoded).toHaveProperty(key);
    expect(encoded.density).toBeCloseTo(0.1, 2);
    const d = cli("decode", "enc.mgc", "--json");
    expect(d.code).toBe(0);
    const decoded = JSON.parse(d.stdout);
    expect(decoded.output).toBe("enc.png");
    expect(existsSync(join(dir, decoded.output))).toBe(true);
    expect(decoded.width).toBe(48);
    const info = cli("info", "enc.mgc");
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/48×32/);
  });

  it("decode without -o writes the input name with .png, and refuses to overwrite it without --force", () => {
    cli(
      "encode",
      "photo.png",
      "-o",
      "other.mgc",
      "--density",
      "0.2",
      "--backend",
      "diffusion",
      "--mask",
      "grid",
    );
    const first = cli("decode", "other.mgc");
    expect(first.code).toBe(0);
    expect(existsSync(join(dir, "other.png"))).toBe(true);
    expectCleanFailure(cli("decode", "other.mgc"), /exists.*--force/);
    expect(cli("decode", "other.mgc", "--force").code).toBe(0);
  });

  it("a missing input file is a one-line error and leaves no output", () => {
    const before = listing();
    expectCleanFailure(cli("encode", "nothing.png", "-o", "x.mgc", "--density", "0.1"), /No such file/);
    expectCleanFailure(cli("decode", "nothing.mgc"), /No such file/);
    expect(listing()).toEqual(before);
  });

  it("a file that is no image is refused", () => {
    writeFileSync(join(dir, "text.png"), "hello");
    expectCleanFailure(
      cli("encode", "text.png", "-o", "t.mgc", "--density", "0.1", "--backend", "diffusion"),
      /Cannot read/,
    );
    expect(existsSync(join(dir, "t.mgc"))).toBe(false);
  });

  it("an image of 0×0 pixels and an absurdly large one are refused", () => {
    writeFileSync(join(dir, "empty.png"), pngWithSize(0, 0));
    expectCleanFailure(
      cli("encode", "empty.png", "--density", "0.1", "--backend", "diffusion"),
      /empty|Cannot read/,
    );
    writeFileSync(join(dir, "huge.png"), pngWithSize(100000, 100000));
    expectCleanFailure(cli("encode", "huge.png", "--density", "0.1", "--backend", "diffusion"), /too large/);
    expect(existsSync(join(dir, "empty.mgc")) || existsSync(join(dir, "huge.mgc"))).toBe(false);
  });

  it("--max-pixels refuses a larger image or stream with one line and no output, and admits one within it", () => {
    const args = ["--density", "0.1", "--backend", "diffusion", "--mask", "grid"];
    expectCleanFailure(
      cli("encode", "photo.png", "-o", "capped.mgc", ...args, "--max-pixels", "1535"),
      /too large: over the limit of 1535 pixels/,
    );
    expect(existsSync(join(dir, "capped.mgc"))).toBe(false);
    expect(cli("encode", "photo.png", "-o", "capped.mgc", ...args, "--max-pixels", "1536").code).toBe(0);
    expectCleanFailure(
      cli("decode", "capped.mgc", "-o", "capped.png", "--max-pixels", "1535"),
      /48×32 \(1536 pixels\), over the limit of 1535 pixels/,
    );
    expect(existsSync(join(dir, "capped.png"))).toBe(false);
    expect(cli("decode", "capped.mgc", "-o", "capped.png", "--max-pixels", "1536").code).toBe(0);
    for (const bad of ["0", "-5", "1.5", "x", String(3 * 2 ** 22 + 1)]) {
      expectCleanFailure(cli("decode", "capped.mgc", "--max-pixels", bad), /max-pixels/);
    }
  });

  it("a density outside (0, 1] is refused, naming the value", () => {
    for (const density of ["0", "1.5", "-0.1", "abc"]) {
      expectCleanFailure(cli("encode", "photo.png", "-o", "d.mgc", "--density", density), /density/);
    }
    expect(existsSync(join(dir, "d.mgc"))).toBe(false);
  });

  it("an output path in a missing folder, or an existing output without --force, is refused", () => {
    expectCleanFailure(
      cli("encode", "photo.png", "-o", "no/such/dir/x.mgc", "--density", "0.1", "--backend", "diffusion"),
      /folder does not exist/,
    );
    writeFileSync(join(dir, "exists.mgc"), "keep me");
    expectCleanFailure(
      cli("encode", "photo.png", "-o", "exists.mgc", "--density", "0.1", "--backend", "diffusion"),
      /exists.*--force/,
    );
    expect(readFileSync(join(dir, "exists.mgc"), "utf8")).toBe("keep me");
  });

  it("never overwrites its input, even with --force", () => {
    const before = readFileSync(photo);
    expectCleanFailure(cli("encode", "photo.png", "-o", "photo.png", "--density", "0.1", "--force"), /input/);
    expect(readFileSync(photo).equals(before)).toBe(true);
  });

  it("a truncated stream, a stream with a flipped bit, and an unknown version are refused", () => {
    cli(
      "encode",
      "photo.png",
      "-o",
      "good.mgc",
      "--density",
      "0.1",
      "--backend",
      "diffusion",
      "--mask",
      "random",
    );
    const good = readFileSync(join(dir, "good.mgc"));
    writeFileSync(join(dir, "truncated.mgc"), good.subarray(0, good.length - 5));
    expectCleanFailure(cli("decode", "truncated.mgc"), /Invalid \.mgc/);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)] ^= 0x10;
    writeFileSync(join(dir, "flipped.mgc"), flipped);
    expectCleanFailure(cli("decode", "flipped.mgc"), /Invalid \.mgc/);
    const future = Buffer.from(good);
    future[3] = 0xee; // the version byte follows the three-byte magic "MGC"
    writeFileSync(join(dir, "future.mgc"), future);
    expectCleanFailure(cli("decode", "future.mgc"), /version/);
    for (const name of ["truncated.png", "flipped.png", "future.png"])
      expect(existsSync(join(dir, name))).toBe(false);
  });

  it("compare's and rd's help name the masks they run by default", () => {
    for (const command of ["compare", "rd"]) {
      const help = cli(command, "--help").stdout.replace(/\s+/g, " ");
      expect(help).toContain(`(default: ${DEFAULT_DIFFUSION_MASKS.join(",")})`);
    }
    expect(masksFor("diffusion", undefined)).toEqual([...DEFAULT_DIFFUSION_MASKS]);
  });

  it("models lists the registry as a table and as JSON", () => {
    const table = cli("models");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/maskgan-v11-d05\s+default for 0\.04 ≤ D < 0\.07/);
    const json = cli("models", "--json");
    expect(json.code).toBe(0);
    const ids = (JSON.parse(json.stdout) as Array<{ id: string }>).map((m) => m.id);
    expect(ids).toContain("maskgan-v12-lo");
    expect(table.stdout.trim().split("\n")).toHaveLength(ids.length + 1);
  });

  it("a stream naming a gan model that is not registered is refused, naming the model", () => {
    const image = createImage(8, 8, 3);
    const mask = createMask(8, 8);
    mask.data[0] = 1;
    mask.data[63] = 1;
    const header: StreamHeader = {
      version: 1,
      width: 8,
      height: 8,
      channels: 3,
      colour: "ycbcr",
      backend: "gan",
      modelId: "maskgan-v3",
      weightHash: "0123456789abcdef",
      quantiser: { lumaLevels: 16, chromaLevels: 16 },
    };
    writeFileSync(join(dir, "dropped.mgc"), writeStream({ header, mask, values: image }).bytes);
    expectCleanFailure(
      cli("decode", "dropped.mgc"),
      /model "maskgan-v3".*not in this installation's model registry/,
    );
    expect(existsSync(join(dir, "dropped.png"))).toBe(false);
  });

  it("--refine improves the chosen mask by NLPE: same density, lower error, and bad cycles are refused", () => {
    const run = (refine: string, out: string) =>
      cli(
        "encode",
        "photo.png",
        "-o",
        out,
        "--density",
        "0.08",
        "--backend",
        "diffusion",
        "--mask",
        "analytic",
        "--refine",
        refine,
        "--json",
      );
    const plain = JSON.parse(run("0", "plain.mgc").stdout);
    const refined = run("1", "refined.mgc");
    expect(refined.code).toBe(0);
    const r = JSON.parse(refined.stdout);
    expect(r.refine_cycles).toBe(1);
    expect(r.density).toBe(plain.density);
    expect(r.mae).toBeLessThan(plain.mae);
    expectCleanFailure(run("-2", "bad.mgc"), /refine/);
    expectCleanFailure(run("lots", "bad.mgc"), /refine/);
    expect(existsSync(join(dir, "bad.mgc"))).toBe(false);
  });

  it("--tonal-steps is refused without --tonal on the gan backend, and for a count out of range", () => {
    const run = (...extra: string[]) =>
      cli("encode", "photo.png", "-o", "tonal.mgc", "--density", "0.08", ...extra);
    expectCleanFailure(run("--tonal-steps", "5"), /--tonal-steps needs --tonal with --backend gan/);
    expectCleanFailure(
      run("--backend", "diffusion", "--tonal", "--tonal-steps", "5"),
      /--tonal-steps needs --tonal with --backend gan/,
    );
    expectCleanFailure(run("--tonal", "--tonal-steps", "0"), /tonal-steps/);
    expect(existsSync(join(dir, "tonal.mgc"))).toBe(false);
  });

  it("an unknown backend or mask selector is refused with the list of valid ones", () => {
    expectCleanFailure(
      cli("encode", "photo.png", "--density", "0.1", "--backend", "magic"),
      /gan, diffusion/,
    );
    expectCleanFailure(cli("encode", "photo.png", "--density", "0.1", "--mask", "magic"), /grid/);
  });
});
