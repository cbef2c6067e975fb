import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSizeOption } from "../../src/cli/encode-lowrate.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { writePng } from "../../src/image/io.ts";
import { syntheticImage } from "../codec/helpers.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "maskcodec.js");
const dir = mkdtempSync(join(tmpdir(), "maskcodec-rate-"));
const photo = join(dir, "photo.png");

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await writePng(syntheticImage(96, 64, 3, 21), photo);
});

describe("encode with a rate target", () => {
  it("--bpp writes a tree-mode file of at most that rate, within 5 % below, and --json says what it chose", () => {
    const r = cli("encode", "photo.png", "-o", "a.mgc", "--bpp", "0.3", "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const target = Math.floor((0.3 * 96 * 64) / 8);
    expect(out.target_bytes).toBe(target);
    expect(statSync(join(dir, "a.mgc")).size).toBe(out.bytes);
    expect(out.bytes).toBeLessThanOrEqual(target);
    expect(out.bytes).toBeGreaterThanOrEqual(0.95 * target);
    expect(out.mask).toBe("tree");
    expect(out.luma_points).toBeGreaterThan(out.chroma_points);
    expect(out.luma_levels).toBeGreaterThanOrEqual(2);
  });

  it("--size in bytes with a k suffix, and the file decodes", () => {
    const r = cli("encode", "photo.png", "-o", "b.mgc", "--size", "0.5k");
    expect(r.code).toBe(0);
    expect(statSync(join(dir, "b.mgc")).size).toBeLessThanOrEqual(500);
    expect(statSync(join(dir, "b.mgc")).size).toBeGreaterThanOrEqual(475);
    const d = cli("decode", "b.mgc", "-o", "b.png", "--json");
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout).width).toBe(96);
    const info = cli("info", "b.mgc", "--json");
    expect(info.code).toBe(0);
    const fields = JSON.parse(info.stdout);
    expect(fields.version).toBe(4);
    expect(fields.mask).toBe("tree");
    expect(fields.luma.points).toBeGreaterThan(fields.chroma.points);
  });

  it("--mask tree with --density encodes at a fixed point budget", () => {
    const r = cli("encode", "photo.png", "-o", "c.mgc", "--mask", "tree", "-d", "0.05", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.target_bytes).toBeNull();
    expect(out.luma_points).toBeGreaterThanOrEqual(Math.round(0.05 * 96 * 64));
  });

  it("refuses an unreachable target, a rate with another mask, and two targets, leaving no file", () => {
    for (const args of [
      ["--size", "12"],
      ["--bpp", "0.2", "--mask", "grid"],
      ["--bpp", "0.2", "--size", "10k"],
      ["--size", "lots"],
    ]) {
      const r = cli("encode", "photo.png", "-o", "bad.mgc", ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, "bad.mgc"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith("bad"))).toEqual([]);
  });

  it("encode without any rate or density is a clear error", () => {
    const r = cli("encode", "photo.png", "-o", "none.mgc");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'--density <d>', '--bpp <b>' or '--size <n>' not specified/);
  });
});

describe("--size values", () => {
  it("read bytes, k = 1000 and M = 1,000,000", () => {
    expect(parseSizeOption("1500")).toBe(1500);
    expect(parseSizeOption("12k")).toBe(12000);
    expect(parseSizeOption("1.5M")).toBe(1_500_000);
  });
  it("refuse anything else", () => {
    for (const bad of ["", "k", "-3", "1e3", "12kb", "0"])
      expect(() => parseSizeOption(bad)).toThrow(MaskcodecError);
  });
});
