import { describe, expect, it } from "vitest";
import { inpainterFor } from "../../src/backends.ts";
import { decodeBytes } from "../../src/codec/codec.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { psnr } from "../../src/image/metrics.ts";
import { encodeLowrate } from "../../src/lowrate/codec.ts";
import { isLowrateStream, LOWRATE_VERSION, parseLowrate } from "../../src/lowrate/stream.ts";
import { syntheticImage } from "../codec/helpers.ts";

const settings = {
  lumaPoints: 400,
  chromaPoints: 60,
  lumaLevels: 12,
  chromaLevels: 12,
  lumaRoot: 16,
  chromaRoot: 16,
};

describe("low-rate streams (version 4; version 2 is read too)", () => {
  it("decode through decodeBytes to exactly the image the encoder reported", async () => {
    const image = syntheticImage(70, 45, 3, 2);
    const encoded = encodeLowrate(image, settings);
    expect(encoded.bytes[3]).toBe(LOWRATE_VERSION);
    expect(isLowrateStream(encoded.bytes)).toBe(true);
    const decoded = await decodeBytes(encoded.bytes, async (header) => {
      expect(header.backend).toBe("diffusion");
      return inpainterFor(header);
    });
    expect(Array.from(decoded.image.data)).toEqual(Array.from(encoded.decoded.data));
    expect(decoded.header.version).toBe(LOWRATE_VERSION);
    expect(decoded.header.quantiser).toEqual({ lumaLevels: 12, chromaLevels: 12 });
    expect(psnr(image, decoded.image)).toBeGreaterThan(20);
  });

  it("carry both trees: luma and chroma points as the encoder chose them", () => {
    const image = syntheticImage(70, 45, 3, 4);
    const encoded = encodeLowrate(image, settings);
    const parsed = parseLowrate(encoded.bytes);
    expect(parsed.luma.count).toBe(encoded.lumaCount);
    expect(parsed.chroma?.count).toBe(encoded.chromaCount);
    expect(encoded.chromaCount).toBeLessThan(encoded.lumaCount / 2);
  });

  it("work for grey images (one tree)", async () => {
    const image = syntheticImage(40, 31, 1, 7);
    const encoded = encodeLowrate(image, { ...settings, lumaPoints: 200 });
    const parsed = parseLowrate(encoded.bytes);
    expect(parsed.chroma).toBeUndefined();
    const decoded = await decodeBytes(encoded.bytes, (header) => inpainterFor(header));
    expect(decoded.image.channels).toBe(1);
    expect(Array.from(decoded.image.data)).toEqual(Array.from(encoded.decoded.data));
  });

  it("refuse a corrupted or truncated stream with a MaskcodecError", () => {
    const encoded = encodeLowrate(syntheticImage(40, 30, 3, 1), settings);
    const flipped = Uint8Array.from(encoded.bytes);
    flipped[12] ^= 0x10;
    expect(() => parseLowrate(flipped)).toThrow(MaskcodecError);
    expect(() => parseLowrate(encoded.bytes.subarray(0, 10))).toThrow(MaskcodecError);
  });

  it("finer quantisers and more points give larger streams", () => {
    const image = syntheticImage(64, 48, 3, 9);
    const a = encodeLowrate(image, settings).bytes.length;
    const b = encodeLowrate(image, { ...settings, lumaLevels: 64 }).bytes.length;
    const c = encodeLowrate(image, { ...settings, lumaPoints: 900 }).bytes.length;
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(a);
  });
});
