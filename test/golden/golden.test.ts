import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inpainterFor } from "../../src/backends.ts";
import { decodeBytes } from "../../src/codec/codec.ts";
import { crc32 } from "../../src/codec/crc32.ts";
import {
  FORMAT_VERSION,
  LAYOUT_VERSIONS,
  LOWRATE_VERSION,
  LOWRATE_VERSIONS,
  parseStream,
} from "../../src/codec/stream.ts";
import { toBytes } from "../../src/image/io.ts";
import { fixCrc } from "../codec/helpers.ts";
import { type GoldenEntry, type GoldenManifest, pixelsSha256 } from "./manifest.ts";

/**
 * Golden streams (written by test/golden/make.ts, one folder per format version): every committed stream
 * must decode to exactly the pixels recorded when it was written, or, for a format version this build no
 * longer reads, be refused by name. A round-trip test cannot catch an encoder and decoder changed together;
 * these can.
 */

// the recorded gan pixels are those of the tfjs wasm backend
process.env.MASKCODEC_TF_BACKEND = "wasm";

const ROOT = import.meta.dirname;
const versions = readdirSync(ROOT)
  .filter((name) => /^v\d+$/.test(name))
  .map((name) => {
    const manifest = JSON.parse(readFileSync(join(ROOT, name, "manifest.json"), "utf8")) as GoldenManifest;
    return { folder: join(ROOT, name), manifest };
  });

/** The versions this build decodes: 1, 3, 5, 6 and 7 (one layout), and the tree mode's 2 and 4 (src/lowrate). */
const READABLE = [...LAYOUT_VERSIONS, ...LOWRATE_VERSIONS];

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/**
 * A golden stream decoded as written and relabelled as version `to` (its version byte changed, its CRC fixed):
 * the relabelled one must say `to` and give the same mask. Returns both images as 8-bit samples.
 */
async function decodedAsWrittenAndAs(folder: string, entry: GoldenEntry, to: number) {
  const bytes = new Uint8Array(readFileSync(join(folder, entry.file)));
  const relabelled = new Uint8Array(bytes);
  relabelled[3] = to;
  const old = await decodeBytes(bytes, (header) => inpainterFor(header));
  const now = await decodeBytes(fixCrc(relabelled, crc32), (header) => inpainterFor(header));
  expect(now.header.version).toBe(to);
  expect(now.mask.data).toEqual(old.mask.data);
  return { a: toBytes(old.image), b: toBytes(now.image) };
}

describe("golden streams", () => {
  it("the current format version has its golden streams, covering every backend, colour and grey", () => {
    const current = versions.find((v) => v.manifest.version === FORMAT_VERSION);
    expect(current, `no test/golden/v${FORMAT_VERSION}: run npx tsx test/golden/make.ts`).toBeDefined();
    const streams = current?.manifest.streams ?? [];
    expect(new Set(streams.map((s) => `${s.backend}/${s.channels}`))).toEqual(
      new Set(["diffusion/1", "diffusion/3", "gan/1", "gan/3"]),
    );
    const total = streams.reduce((sum, s) => sum + s.bytes, 0);
    expect(total).toBeLessThan(100 * 1024);
  });

  for (const { folder, manifest } of versions) {
    for (const entry of manifest.streams) {
      const read = () => new Uint8Array(readFileSync(join(folder, entry.file)));

      if (!READABLE.includes(manifest.version)) {
        it(`v${manifest.version}/${entry.file} is refused by its version`, () => {
          expect(() => parseStream(read())).toThrow(`unknown format version ${manifest.version}`);
        });
        continue;
      }

      it(`v${manifest.version}/${entry.file} decodes to its recorded pixels`, async () => {
        const bytes = read();
        expect(sha256(bytes)).toBe(entry.sha256);
        const decoded = await decodeBytes(bytes, (header) => inpainterFor(header));
        const { header } = decoded;
        expect({
          backend: header.backend,
          model: header.modelId,
          width: header.width,
          height: header.height,
          channels: header.channels,
          colour: header.colour,
          lumaLevels: header.quantiser.lumaLevels,
          chromaLevels: header.quantiser.chromaLevels,
        }).toEqual({
          backend: entry.backend,
          model: entry.model,
          width: entry.width,
          height: entry.height,
          channels: entry.channels,
          colour: entry.colour,
          lumaLevels: entry.lumaLevels,
          chromaLevels: entry.chromaLevels,
        });
        expect(pixelsSha256(toBytes(decoded.image))).toBe(entry.pixelsSha256);
        if (header.backend === "gan") {
          // deterministic: a second decode in the same process gives the same pixels
          const again = await decodeBytes(bytes, (h) => inpainterFor(h));
          expect(pixelsSha256(toBytes(again.image))).toBe(entry.pixelsSha256);
        }
      });
    }
  }

  it("the tree mode's format version has its golden streams, colour and grey", () => {
    const tree = versions.find((v) => v.manifest.version === LOWRATE_VERSION);
    expect(tree, `no test/golden/v${LOWRATE_VERSION}: run npx tsx test/golden/make-tree.ts`).toBeDefined();
    expect(new Set(tree?.manifest.streams.map((s) => s.channels))).toEqual(new Set([1, 3]));
  });

  it.each([
    [1, 3],
    [2, 4],
  ])(
    "versions %i and %i differ only in the diffusion solve's stopping rule: same mask, samples within a level",
    async (before, after) => {
      const older = versions.find((v) => v.manifest.version === before);
      const diffusion = older?.manifest.streams.filter((s) => s.backend === "diffusion") ?? [];
      expect(diffusion.length).toBeGreaterThan(0);
      let moved = 0;
      for (const entry of diffusion) {
        const { a, b } = await decodedAsWrittenAndAs(older?.folder ?? "", entry, after);
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
          if (a[i] !== b[i]) moved++;
        }
      }
      // the earlier stop is visible in the samples (else this test would not tell the versions apart)
      expect(moved).toBeGreaterThan(0);
    },
  );

  it("versions 3 and 5 differ only in the gan networks' arithmetic: the same mask, samples within a level", async () => {
    const older = versions.find((v) => v.manifest.version === 3);
    const entries = older?.manifest.streams ?? [];
    expect(entries.some((s) => s.backend === "gan")).toBe(true);
    let moved = 0;
    for (const entry of entries) {
      const { a, b } = await decodedAsWrittenAndAs(older?.folder ?? "", entry, 5);
      let changed = 0;
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
        if (a[i] !== b[i]) changed++;
      }
      // the diffusion decode is the same in both versions
      if (entry.backend === "diffusion") expect(changed).toBe(0);
      moved += changed;
    }
    // the 16-bit products are visible in the gan samples (else this test would not tell the versions apart)
    expect(moved).toBeGreaterThan(0);
  });

  it("versions 5 and 6 decode images of one window under 2^20 pixels to the same pixels", async () => {
    // version 6 differs in its tiling (sides over 1024 pixels) and in the diffusion input of windows over
    // 2^20 pixels (test/nets/tiling.test.ts); the golden images are far below both
    const older = versions.find((v) => v.manifest.version === 5);
    const entries = older?.manifest.streams ?? [];
    expect(entries.some((s) => s.backend === "gan")).toBe(true);
    for (const entry of entries) {
      const { a, b } = await decodedAsWrittenAndAs(older?.folder ?? "", entry, 6);
      expect(b).toEqual(a);
    }
  });

  it("versions 6 and 7 differ only in the diffusion solves' arithmetic: the same mask, samples within a level", async () => {
    const older = versions.find((v) => v.manifest.version === 6);
    const entries = older?.manifest.streams ?? [];
    expect(entries.some((s) => s.backend === "diffusion")).toBe(true);
    expect(entries.some((s) => s.backend === "gan")).toBe(true);
    let moved = 0;
    for (const entry of entries) {
      const { a, b } = await decodedAsWrittenAndAs(older?.folder ?? "", entry, 7);
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
        if (a[i] !== b[i]) moved++;
      }
    }
    // the float32 solves are visible in the samples (else this test would not tell the versions apart)
    expect(moved).toBeGreaterThan(0);
  });

  it("a stream claiming the next format version is refused by name", async () => {
    const next = Math.max(...READABLE) + 1;
    const current = versions.find((v) => v.manifest.version === FORMAT_VERSION);
    for (const entry of current?.manifest.streams ?? []) {
      const bytes = new Uint8Array(readFileSync(join(current?.folder ?? "", entry.file)));
      bytes[3] = next;
      const stream = fixCrc(bytes, crc32);
      const message = `unknown format version ${next} (this build reads versions 1 to 7)`;
      expect(() => parseStream(stream)).toThrow(message);
      await expect(decodeBytes(stream, (header) => inpainterFor(header))).rejects.toThrow(message);
    }
  });
});
