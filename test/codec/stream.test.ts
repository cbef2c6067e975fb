import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBytes, defaultQuantiser, encodeImage } from "../../src/codec/codec.ts";
import { crc32 } from "../../src/codec/crc32.ts";
import { MAX_PIXELS } from "../../src/codec/limits.ts";
import {
  FORMAT_VERSION,
  parseLayout,
  parseStream,
  quantiseValues,
  writeStream,
} from "../../src/codec/stream.ts";
import type { ColourTransform, StreamHeader } from "../../src/codec/types.ts";
import { MaskcodecError } from "../../src/errors.ts";
import type { Inpainter, MaskSelector, StoredLevels } from "../../src/image/seams.ts";
import { type Channels, createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";
import {
  allocationBound,
  countAllocations,
  differences,
  fixCrc,
  gridMask,
  header as makeHeader,
  randomMask,
  rng,
  syntheticImage,
} from "./helpers.ts";

function noiseImage(width: number, height: number, channels: Channels, seed: number): Image {
  const r = rng(seed);
  const image = createImage(width, height, channels);
  for (let i = 0; i < image.data.length; i++) image.data[i] = r() * 255;
  return image;
}

function expectRoundTrip(header: StreamHeader, mask: Mask, values: Image): Uint8Array {
  const { bytes, sizes } = writeStream({ header, mask, values });
  const decoded = parseStream(bytes);
  expect(decoded.header).toEqual(header);
  expect(differences(decoded.mask.data, mask.data)).toBe(0);
  const expected = quantiseValues(header, mask, values);
  expect(differences(decoded.known.data, expected.data)).toBe(0);
  expect(decoded.sizes).toEqual(sizes);
  expect(sizes.total).toBe(bytes.length);
  expect(sizes.header + sizes.mask + sizes.values + sizes.other).toBe(bytes.length);
  return bytes;
}

const contentArb = fc
  .record({
    width: fc.integer({ min: 1, max: 40 }),
    height: fc.integer({ min: 1, max: 40 }),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    channels: fc.constantFrom<Channels>(1, 3),
    ycbcr: fc.boolean(),
    luma: fc.integer({ min: 2, max: 256 }),
    chroma: fc.integer({ min: 2, max: 256 }),
    gan: fc.boolean(),
    grid: fc.boolean(),
    smooth: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((o) => {
    const colour: ColourTransform = o.channels === 3 && o.ycbcr ? "ycbcr" : "none";
    const header = makeHeader(o.width, o.height, o.channels, colour, [o.luma, o.chroma], o.gan);
    const mask =
      o.grid && o.density > 0.01
        ? gridMask(o.width, o.height, o.density)
        : randomMask(o.width, o.height, o.density, o.seed);
    if (!mask.data.includes(1)) mask.data[0] = 1;
    const values = o.smooth
      ? syntheticImage(o.width, o.height, o.channels, o.seed)
      : noiseImage(o.width, o.height, o.channels, o.seed);
    return { header, mask, values };
  });

describe(".mgc stream", () => {
  it("parses what it writes: mask and quantised values bit for bit, header and sizes equal (any size, density, channels, transform, levels, backend)", () => {
    fc.assert(
      fc.property(contentArb, ({ header, mask, values }) => {
        expectRoundTrip(header, mask, values);
      }),
      { numRuns: 400 },
    );
  });

  it("round-trips larger images: 768×512 colour (random and grid masks), a long strip, a 1×1", () => {
    const image = syntheticImage(768, 512, 3, 5);
    expectRoundTrip(makeHeader(768, 512, 3), randomMask(768, 512, 0.05, 3), image);
    expectRoundTrip(makeHeader(768, 512, 3, "none", [256, 256]), gridMask(768, 512, 0.1), image);
    expectRoundTrip(
      makeHeader(1000, 3, 1, "none", [17, 2]),
      randomMask(1000, 3, 0.2, 4),
      noiseImage(1000, 3, 1, 2),
    );
    expectRoundTrip(makeHeader(1, 1, 3), createMask(1, 1, new Uint8Array([1])), noiseImage(1, 1, 3, 9));
  });

  it("stores integer values exactly with no colour transform and 256 levels", () => {
    const image = noiseImage(50, 30, 3, 1);
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.round(image.data[i]);
    const mask = randomMask(50, 30, 0.3, 1);
    const decoded = parseStream(
      writeStream({ header: makeHeader(50, 30, 3, "none", [256, 256]), mask, values: image }).bytes,
    );
    for (let i = 0; i < mask.data.length; i++) {
      for (let c = 0; c < 3; c++) {
        expect(decoded.known.data[3 * i + c]).toBe(mask.data[i] ? image.data[3 * i + c] : 0);
      }
    }
  });

  it("detects every single flipped bit (CRC-32)", () => {
    const { bytes } = writeStream({
      header: makeHeader(16, 12, 3, "ycbcr", [64, 32], true),
      mask: randomMask(16, 12, 0.2, 2),
      values: syntheticImage(16, 12, 3, 2),
    });
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const corrupt = bytes.slice();
      corrupt[bit >> 3] ^= 1 << (bit & 7);
      expect(() => parseStream(corrupt), `bit ${bit}`).toThrow(MaskcodecError);
    }
  });

  it("refuses every truncation and any appended bytes", () => {
    const { bytes } = writeStream({
      header: makeHeader(20, 20, 1),
      mask: randomMask(20, 20, 0.1, 1),
      values: noiseImage(20, 20, 1, 1),
    });
    for (let n = 0; n < bytes.length; n++) {
      expect(() => parseStream(bytes.subarray(0, n)), `length ${n}`).toThrow(MaskcodecError);
    }
    for (const extra of [[0], [0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      const longer = new Uint8Array([...bytes, ...extra]);
      expect(() => parseStream(longer)).toThrow(MaskcodecError);
    }
  });

  it("refuses an unknown format version and says so", () => {
    const { bytes } = writeStream({
      header: makeHeader(8, 8, 1),
      mask: randomMask(8, 8, 0.2, 1),
      values: noiseImage(8, 8, 1, 1),
    });
    const future = bytes.slice();
    future[3] = 8; // after version 7
    fixCrc(future, crc32);
    expect(() => parseStream(future)).toThrow(
      /unknown format version 8 \(this build reads versions 1 to 7\)/,
    );
    expect(() => parseStream(new TextEncoder().encode("PNG not a stream at all"))).toThrow(/MGC/);
  });

  it("refuses a header claiming a huge image before allocating anything sized by it", () => {
    // A valid 8×8 stream whose width and height are rewritten to 16385×16384 (> MAX_PIXELS), CRC fixed.
    const huge = [
      0x4d,
      0x47,
      0x43,
      FORMAT_VERSION,
      0x81,
      0x80,
      0x01,
      0x80,
      0x80,
      0x01,
      1,
      0,
      0,
      63,
      31,
      1,
      1,
      0x55,
      0,
      0,
      0,
      0,
    ];
    const bytes = fixCrc(new Uint8Array(huge), crc32);
    expect(16385 * 16384).toBeGreaterThan(MAX_PIXELS);
    let error: unknown;
    const allocated = countAllocations(() => {
      try {
        parseStream(bytes);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toBeInstanceOf(MaskcodecError);
    expect(String(error)).toMatch(/over the limit/);
    expect(allocated).toBeLessThan(1024);

    // Within MAX_PIXELS but over the caller's maxPixels: refused too.
    const { bytes: small } = writeStream({
      header: makeHeader(40, 30, 3),
      mask: randomMask(40, 30, 0.1, 1),
      values: noiseImage(40, 30, 3, 1),
    });
    expect(() => parseStream(small, { maxPixels: 1199 })).toThrow(/over the limit of 1199/);
    expect(parseStream(small, { maxPixels: 1200 }).header.width).toBe(40);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => parseStream(small, { maxPixels: bad })).toThrow(/maxPixels/);
    }
  });

  it("allocates no more than the validated header needs while decoding", () => {
    const { bytes } = writeStream({
      header: makeHeader(64, 48, 3),
      mask: randomMask(64, 48, 0.05, 1),
      values: noiseImage(64, 48, 3, 1),
    });
    const layout = parseLayout(bytes);
    const pixels = 64 * 48;
    const allowed = allocationBound(layout.header, layout.count, bytes.length);
    const allocated = countAllocations(() => parseStream(bytes));
    expect(allocated).toBeGreaterThanOrEqual(pixels * 13); // the mask and the known image are counted
    expect(allocated).toBeLessThanOrEqual(allowed);
  });

  it("rejects invalid content with parameter errors", () => {
    const mask = randomMask(4, 4, 0.5, 1);
    const values = noiseImage(4, 4, 3, 1);
    const bad: Array<[string, () => unknown]> = [
      ["levels 1", () => writeStream({ header: makeHeader(4, 4, 3, "ycbcr", [1, 32]), mask, values })],
      ["levels 257", () => writeStream({ header: makeHeader(4, 4, 3, "ycbcr", [64, 257]), mask, values })],
      [
        "ycbcr on grey",
        () => writeStream({ header: makeHeader(4, 4, 1, "ycbcr"), mask, values: noiseImage(4, 4, 1, 1) }),
      ],
      [
        "wrong mask size",
        () => writeStream({ header: makeHeader(4, 4, 3), mask: randomMask(5, 4, 0.5, 1), values }),
      ],
      ["wrong channels", () => writeStream({ header: makeHeader(4, 4, 1), mask, values })],
      ["empty mask", () => writeStream({ header: makeHeader(4, 4, 3), mask: createMask(4, 4), values })],
      [
        "gan without id",
        () => writeStream({ header: { ...makeHeader(4, 4, 3), backend: "gan" }, mask, values }),
      ],
      [
        "diffusion with id",
        () => writeStream({ header: { ...makeHeader(4, 4, 3), modelId: "x" }, mask, values }),
      ],
      [
        "bad hash",
        () =>
          writeStream({
            header: { ...makeHeader(4, 4, 3, "ycbcr", [64, 32], true), weightHash: "xyz" },
            mask,
            values,
          }),
      ],
      ["old version", () => writeStream({ header: { ...makeHeader(4, 4, 3), version: 0 }, mask, values })],
      [
        "NaN value",
        () => {
          const v = noiseImage(4, 4, 3, 1);
          v.data.fill(Number.NaN);
          return writeStream({ header: makeHeader(4, 4, 3), mask, values: v });
        },
      ],
    ];
    for (const [name, f] of bad) {
      expect(f, name).toThrow(MaskcodecError);
      try {
        f();
      } catch (e) {
        expect((e as MaskcodecError).code, name).toBe("ERR_INVALID_PARAMETER");
      }
    }
  });
});

describe("encodeImage / decodeBytes", () => {
  const selector: MaskSelector = {
    id: "test-random",
    async select(image, density) {
      return randomMask(image.width, image.height, density, 42);
    },
  };
  /** Returns the known image as it is and records what it was given: enough to check the wiring. */
  function recordingInpainter(seen: Image[]): Inpainter {
    return {
      id: "recording",
      async inpaint(known) {
        seen.push(known);
        return createImage(known.width, known.height, known.channels, known.data.slice());
      },
    };
  }

  it("hands the decoder's inpainter exactly the known values the encoder reported", async () => {
    for (const channels of [1, 3] as const) {
      const image = syntheticImage(60, 40, channels, 3);
      const encoded = await encodeImage(image, { selector, density: 0.1, backend: "diffusion" });
      expect(encoded.header.colour).toBe(channels === 3 ? "ycbcr" : "none");
      expect(encoded.header.quantiser).toEqual(defaultQuantiser(encoded.header.colour));
      const seen: Image[] = [];
      const decoded = await decodeBytes(encoded.bytes, async (h) => {
        expect(h).toEqual(encoded.header);
        return recordingInpainter(seen);
      });
      expect(differences(seen[0].data, encoded.known.data)).toBe(0);
      expect(differences(decoded.mask.data, encoded.mask.data)).toBe(0);
      expect(decoded.sizes).toEqual(encoded.sizes);
    }
  });

  it("tells the decoder's inpainter how the values were stored", async () => {
    const told: Array<StoredLevels | undefined> = [];
    const telling: Inpainter = {
      id: "telling",
      async inpaint(known, _mask, stored) {
        told.push(stored);
        return known;
      },
    };
    const colourful = syntheticImage(24, 16, 3, 5);
    const grey = syntheticImage(24, 16, 1, 5);
    const settings = [
      { image: colourful, quantiser: { lumaLevels: 32, chromaLevels: 8 }, levels: { luma: 32, chroma: 8 } },
      { image: grey, quantiser: { lumaLevels: 12, chromaLevels: 16 }, levels: { luma: 12, chroma: 12 } },
    ];
    for (const { image, quantiser } of settings) {
      const encoded = await encodeImage(image, { selector, density: 0.1, backend: "diffusion", quantiser });
      await decodeBytes(encoded.bytes, async () => telling);
    }
    expect(told).toEqual(settings.map((s) => s.levels));
  });

  it("decode(encode(x)) reproduces the mask and the quantised values bit for bit, for any size, density and channels", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.constantFrom<Channels>(1, 3),
        fc.integer({ min: 0, max: 1000 }),
        async (width, height, density, channels, seed) => {
          const image = noiseImage(width, height, channels, seed);
          const encoded = await encodeImage(image, { selector, density, backend: "diffusion" });
          const seen: Image[] = [];
          const decoded = await decodeBytes(encoded.bytes, async () => recordingInpainter(seen));
          expect(decoded.header).toEqual(encoded.header);
          expect(differences(decoded.mask.data, encoded.mask.data)).toBe(0);
          expect(differences(seen[0].data, encoded.known.data)).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("stores the tonal optimiser's values instead of the image's", async () => {
    const image = syntheticImage(30, 20, 1, 1);
    const tonal = {
      async optimise(img: Image) {
        return createImage(img.width, img.height, img.channels, new Float32Array(img.data.length).fill(200));
      },
    };
    const encoded = await encodeImage(image, {
      selector,
      density: 0.2,
      backend: "diffusion",
      tonal,
      colour: "none",
      quantiser: { lumaLevels: 256, chromaLevels: 256 },
    });
    for (let i = 0; i < encoded.mask.data.length; i++) {
      expect(encoded.known.data[i]).toBe(encoded.mask.data[i] ? 200 : 0);
    }
  });

  it("rejects YCbCr for a grey image", async () => {
    const image = syntheticImage(10, 10, 1, 1);
    await expect(
      encodeImage(image, { selector, density: 0.5, backend: "diffusion", colour: "ycbcr" }),
    ).rejects.toThrow(MaskcodecError);
  });
});
