import { describe, expect, it } from "vitest";
import { defaultMaskSelector } from "../src/backends.ts";
import { createImage, type Image } from "../src/image/types.ts";
import {
  decode,
  ENCODE_DEFAULTS,
  encode,
  encodeToRate,
  MaskcodecError,
  resolveEncodeOptions,
} from "../src/index.ts";

function image(channels: 1 | 3): Image {
  const img = createImage(24, 16, channels);
  for (let i = 0; i < img.data.length; i++) img.data[i] = 128 + 100 * Math.sin(i * 0.37);
  return img;
}

describe("the library API", () => {
  it("fills in every default from ENCODE_DEFAULTS", () => {
    const o = resolveEncodeOptions({ density: 0.05 });
    expect(o).toMatchObject({ density: 0.05, backend: "gan", refine: 0, seed: 1, tonal: false });
    // the mask is chosen by encode() for the image's size when none is named
    expect(o.mask).toBeUndefined();
    expect(defaultMaskSelector("gan", 4000 * 3000)).toBe(ENCODE_DEFAULTS.mask.gan);
    expect(defaultMaskSelector("diffusion", 512 * 512)).toBe(ENCODE_DEFAULTS.mask.diffusion);
    expect(defaultMaskSelector("diffusion", 512 * 512 + 1)).toBe("analytic");
    expect(ENCODE_DEFAULTS.colour(3)).toBe("ycbcr");
    expect(ENCODE_DEFAULTS.colour(1)).toBe("none");
  });

  it("refuses bad options before any work, each with a MaskcodecError naming it", () => {
    const bad: Array<[object, RegExp]> = [
      [{}, /density/],
      [{ density: 1.5 }, /density/],
      [{ density: 0.05, backend: "jpeg" }, /backend/],
      [{ density: 0.05, mask: "best" }, /mask/],
      [{ density: 0.05, levels: 1 }, /levels/],
      [{ density: 0.05, chromaLevels: 300 }, /chroma-levels/],
      [{ density: 0.05, colour: "rgb" }, /colour/],
      [{ density: 0.05, refine: -1 }, /refine/],
      [{ density: 0.05, tonalSteps: 5 }, /--tonal-steps needs --tonal/],
      [{ density: 0.05, backend: "diffusion", tonal: true, tonalSteps: 5 }, /--tonal-steps needs/],
      [{ density: 0.05, seed: 1.5 }, /seed/],
      [{ density: 0.05, densty: 0.1 }, /"densty"/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        resolveEncodeOptions(options as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(MaskcodecError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("encodes and decodes (diffusion), the decoder giving what reconstruct() promised", async () => {
    for (const channels of [1, 3] as const) {
      const img = image(channels);
      const encoded = await encode(img, { density: 0.2, backend: "diffusion", mask: "grid", levels: 32 });
      expect(encoded.header.colour).toBe(ENCODE_DEFAULTS.colour(channels));
      expect(encoded.header.quantiser).toEqual({ lumaLevels: 32, chromaLevels: 32 });
      expect(encoded.options.colour).toBe(encoded.header.colour);
      const decoded = await decode(encoded.bytes);
      expect(decoded.image.data).toEqual((await encoded.reconstruct()).data);
      // written into the known image when the caller is done with it: the same pixels
      const inPlace = await encoded.reconstruct({ consumeKnown: true });
      expect(inPlace).toBe(encoded.known);
      expect(inPlace.data).toEqual(decoded.image.data);
    }
  });

  it("refuses a grey image with the ycbcr transform, and bytes that are no Uint8Array", async () => {
    await expect(encode(image(1), { density: 0.1, backend: "diffusion", colour: "ycbcr" })).rejects.toThrow(
      /colour/,
    );
    await expect(decode("abc" as never)).rejects.toThrow(/Uint8Array/);
  });
});

describe("encodeToRate", () => {
  function photoLike(): Image {
    const img = createImage(96, 64, 3);
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 96; x++)
        for (let c = 0; c < 3; c++)
          img.data[(y * 96 + x) * 3 + c] =
            128 + 60 * Math.sin(x / (7 + c)) * Math.cos(y / 9) + (x > 50 ? 30 : 0);
    return img;
  }

  it("fits a stream within a byte target, at most the target and within 5 % below it, that decode() reproduces", async () => {
    const image = photoLike();
    const target = 400;
    const rated = await encodeToRate(image, { bytes: target });
    expect(rated.targetBytes).toBe(target);
    expect(rated.bytes.length).toBeLessThanOrEqual(target);
    expect(rated.bytes.length).toBeGreaterThanOrEqual(0.95 * target);
    const decoded = await decode(rated.bytes);
    expect(rated.decoded?.data).toEqual(decoded.image.data);
    // without the decode: the same stream, no image
    const bytesOnly = await encodeToRate(image, { bytes: target, decode: false });
    expect(bytesOnly.decoded).toBeUndefined();
    expect(bytesOnly.bytes).toEqual(rated.bytes);
  });

  it("refuses a missing or doubled target, and a bad bpp, with a MaskcodecError", async () => {
    const image = photoLike();
    for (const options of [{}, { bytes: 400, bpp: 0.5 }, { bpp: -1 }, { bpp: 100 }, { bytes: 0.5 }]) {
      await expect(encodeToRate(image, options)).rejects.toBeInstanceOf(MaskcodecError);
    }
  });
});
