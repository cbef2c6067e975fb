import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { maskCodec } from "../../src/eval/codecs.ts";
import { tempDir, testImage, writeTestPng } from "./helpers.ts";

/** Runs the CLI, capturing stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    return true;
  });
  try {
    const code = await main(["node", "maskcodec", ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let dir: string;
let png: string;
let mgc: string;
let mgcBytes: number;

beforeAll(async () => {
  dir = tempDir();
  const image = testImage(48, 40, 4);
  png = await writeTestPng(dir, "img.png", image);
  const run = await maskCodec("diffusion").run(image, { mask: "random", density: 0.1 });
  mgc = join(dir, "img.mgc");
  writeFileSync(mgc, run.bytes);
  mgcBytes = run.bytes.length;
});

describe("maskcodec find-close", () => {
  it("reports the jpeg setting closest in size to the .mgc file and writes it", async () => {
    const output = join(dir, "close.jpg");
    const { code, out } = await cli(
      "find-close",
      png,
      "--mgc",
      mgc,
      "--codec",
      "jpeg",
      "-o",
      output,
      "--json",
    );
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.mgc.bytes).toBe(mgcBytes);
    expect(result.reference.codec).toBe("jpeg");
    expect(existsSync(output)).toBe(true);
    const meta = await sharp(output).metadata();
    expect(meta.format).toBe("jpeg");
    expect(result.reference.bytes).toBe(statSync(output).size);
  });

  it("refuses an unknown reference codec and a wrong --by", async () => {
    expect((await cli("find-close", png, "--mgc", mgc, "--codec", "png")).err).toMatch(
      /^maskcodec: Expected one of jpeg, webp, avif for codec but received "png"\n$/,
    );
    expect((await cli("find-close", png, "--mgc", mgc, "--codec", "jpeg", "--by", "ssim")).code).toBe(1);
    expect((await cli("find-close", png, "--mgc", join(dir, "none.mgc"), "--codec", "jpeg")).err).toMatch(
      /No such file/,
    );
  });
});

describe("maskcodec compare", () => {
  it("writes one PNG with the original, the reconstructions and the mask", async () => {
    const out = join(dir, "figure.png");
    const { code, out: stdout } = await cli(
      "compare",
      png,
      "--out",
      out,
      "--codecs",
      "diffusion,jpeg",
      "--masks",
      "random",
      "--density",
      "0.1",
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/4 panels/);
    expect(stdout).toMatch(/diffusion \(random mask\): [\d.]+ bpp, PSNR [\d.]+ dB/);
    expect(stdout).toMatch(/jpeg \(quality \d+\)/);
    const meta = await sharp(out).metadata();
    expect(meta.width).toBe(4 * 48 + 5 * 12);
  });

  it("needs a mask codec to match the reference codecs to", async () => {
    const { code, err } = await cli("compare", png, "--out", join(dir, "x.png"), "--codecs", "jpeg,webp");
    expect(code).toBe(1);
    expect(err).toMatch(/needs at least one mask codec/);
  });

  it("refuses the tree codec, which rd sweeps by rate, instead of leaving it out silently", async () => {
    const { code, err } = await cli("compare", png, "--out", join(dir, "y.png"), "--codecs", "tree,jpeg");
    expect(code).toBe(1);
    expect(err).toMatch(/for codecs but received "tree"/);
  });
});

describe("maskcodec rd --from", () => {
  it("re-summarises and re-plots saved records without running a codec, merging several files", async () => {
    const a = join(dir, "rd-a");
    const b = join(dir, "rd-b");
    expect(
      (await cli("rd", png, "--out", a, "--codecs", "jpeg", "-q", "10,50,90", "-j", "1", "--json")).code,
    ).toBe(0);
    expect(
      (await cli("rd", png, "--out", b, "--codecs", "webp", "-q", "10,50,90", "-j", "1", "--json")).code,
    ).toBe(0);
    const merged = join(dir, "rd-merged");
    const { code, out } = await cli("rd", "--from", `${a}/rd.json,${b}/rd.json`, "--out", merged, "--json");
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(summary.curves.map((c: { curve: string }) => c.curve)).toEqual(["jpeg", "webp"]);
    expect(summary.curves[1].bd.cubic.rate).not.toBeNull();
    expect(existsSync(join(merged, "rd-psnr.png"))).toBe(true);
    expect(existsSync(join(merged, "cache"))).toBe(false);
  });

  it("refuses images together with --from, and a file that is not records", async () => {
    expect((await cli("rd", png, "--from", "x.json", "--out", join(dir, "z"))).err).toMatch(/not both/);
    expect((await cli("rd", "--from", png, "--out", join(dir, "z"))).err).toMatch(/is not JSON/);
  });
});
