import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { channelLevels } from "../../src/codec/quantiser.ts";
import { decodeSections, parseLayout, parseStream, writeStream } from "../../src/codec/stream.ts";
import { valueModelFor } from "../../src/codec/valuecoder.ts";
import { decodeSectionsWasm, setWasmDecoders, wasmDecodersAvailable } from "../../src/codec/wasm-decoders.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { type Channels, maskCount } from "../../src/image/types.ts";
import {
  allocationBound,
  countAllocations,
  gridMask,
  header,
  randomMask,
  rng,
  syntheticImage,
} from "./helpers.ts";

/** What a decoder gives: its output, or the message of the MaskcodecError it threw. */
function outcome<T>(run: () => T): { value?: T; error?: string } {
  try {
    return { value: run() };
  } catch (error) {
    if (error instanceof MaskcodecError) return { error: error.message };
    throw error;
  }
}

const streamArb = fc.record({
  width: fc.integer({ min: 1, max: 48 }),
  height: fc.integer({ min: 1, max: 48 }),
  channels: fc.constantFrom<Channels>(1, 3),
  rgb: fc.boolean(),
  density: fc.double({ min: 0.001, max: 1, noNaN: true }),
  grid: fc.boolean(),
  levels: fc.constantFrom<[number, number]>([2, 2], [16, 16], [64, 32], [256, 256], [5, 3]),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

type StreamCase = typeof streamArb extends fc.Arbitrary<infer T> ? T : never;

function makeStream(c: StreamCase) {
  const colour = c.channels === 3 && !c.rgb ? "ycbcr" : "none";
  let mask = c.grid
    ? gridMask(c.width, c.height, c.density)
    : randomMask(c.width, c.height, c.density, c.seed);
  if (maskCount(mask) === 0) mask = randomMask(c.width, c.height, c.density, c.seed);
  const image = syntheticImage(c.width, c.height, c.channels, c.seed, 20);
  return writeStream({ header: header(c.width, c.height, c.channels, colour, c.levels), mask, values: image })
    .bytes;
}

describe("WebAssembly stream decoders", () => {
  afterEach(() => setWasmDecoders(true));

  it("are in use, and the committed .wasm was built from the committed C source", () => {
    expect(wasmDecodersAvailable()).toBe(true);
    const dir = join(import.meta.dirname, "..", "..", "src", "codec", "wasm");
    const source = readFileSync(join(dir, "stream-decoders.c"));
    const recorded = readFileSync(join(dir, "stream-decoders.c.sha256"), "utf8").trim();
    expect(createHash("sha256").update(source).digest("hex")).toBe(recorded);
  });

  it("decode every stream to the TypeScript coders' mask and values", () => {
    fc.assert(
      fc.property(streamArb, (c) => {
        const bytes = makeStream(c);
        setWasmDecoders(true);
        const fast = parseStream(bytes);
        setWasmDecoders(false);
        const reference = parseStream(bytes);
        expect(Buffer.from(fast.mask.data).equals(Buffer.from(reference.mask.data))).toBe(true);
        expect(fast.known.data).toEqual(reference.known.data);
      }),
      { numRuns: 150 },
    );
  });

  it("decode a 768 × 512 colour stream at 5 % and a grid at 2 % like the TypeScript coders", () => {
    for (const mask of [randomMask(768, 512, 0.05, 3), gridMask(768, 512, 0.02)]) {
      const image = syntheticImage(768, 512, 3, 5, 30);
      const { bytes } = writeStream({ header: header(768, 512, 3, "ycbcr", [16, 16]), mask, values: image });
      const fast = parseStream(bytes);
      setWasmDecoders(false);
      const reference = parseStream(bytes);
      setWasmDecoders(true);
      expect(Buffer.from(fast.mask.data).equals(Buffer.from(mask.data))).toBe(true);
      expect(Buffer.from(fast.known.data.buffer).equals(Buffer.from(reference.known.data.buffer))).toBe(true);
    }
  });

  it("fail on truncated, extended and garbled sections with the TypeScript coders' errors (or agree on the result)", () => {
    const r = rng(17);
    let failures = 0;
    for (let trial = 0; trial < 120; trial++) {
      const c: StreamCase = {
        width: 1 + Math.floor(r() * 40),
        height: 1 + Math.floor(r() * 40),
        channels: r() < 0.5 ? 1 : 3,
        rgb: r() < 0.5,
        density: 0.01 + r() * 0.5,
        grid: r() < 0.3,
        levels: [16, 16],
        seed: trial,
      };
      const bytes = makeStream(c);
      const { header: hd, count, maskStart, maskEnd, valuesEnd } = parseLayout(bytes);
      const levels = channelLevels(hd.quantiser, hd.colour, hd.channels);
      const model = valueModelFor(hd.colour, hd.channels);
      // a section cut short, one with bytes appended, one with a byte changed, and the section as written
      const variants = (section: Uint8Array): Uint8Array[] => {
        const garbled = section.slice();
        if (garbled.length > 0) garbled[Math.floor(r() * garbled.length)] ^= 1 + Math.floor(r() * 255);
        return [
          section.slice(0, Math.floor(r() * section.length)),
          Uint8Array.of(...section, 0, 7),
          garbled,
          section,
        ];
      };
      const maskSection = bytes.slice(maskStart, maskEnd);
      const valuesSection = bytes.slice(maskEnd, valuesEnd);
      const cases = [
        ...variants(maskSection).map((m) => [m, valuesSection]),
        ...variants(valuesSection).map((v) => [maskSection, v]),
      ];
      for (const [m, v] of cases) {
        const sections = Uint8Array.of(...m, ...v);
        const args = [
          sections,
          0,
          m.length,
          sections.length,
          hd.width,
          hd.height,
          count,
          levels,
          model,
        ] as const;
        const fast = outcome(() => {
          const d = decodeSectionsWasm(...args);
          return d && { mask: Array.from(d.mask.data), q: Array.from(d.q) };
        });
        const reference = outcome(() => {
          const d = decodeSections(...args);
          return { mask: Array.from(d.mask.data), q: Array.from(d.q) };
        });
        expect(fast).toEqual(reference);
        if (reference.error) failures++;
      }
    }
    // the cases did exercise the errors
    expect(failures).toBeGreaterThan(200);
  });

  it("grow their memory no more than the validated header allows", () => {
    const mask = randomMask(600, 400, 0.3, 2);
    const { bytes } = writeStream({
      header: header(600, 400, 3, "ycbcr", [16, 16]),
      mask,
      values: syntheticImage(600, 400, 3, 2, 30),
    });
    const layout = parseLayout(bytes);
    let grown = 0;
    const grow = WebAssembly.Memory.prototype.grow;
    WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, pages: number) {
      grown += pages * 65536;
      return grow.call(this, pages);
    };
    let allocated: number;
    try {
      allocated = countAllocations(() => parseStream(bytes));
    } finally {
      WebAssembly.Memory.prototype.grow = grow;
    }
    expect(grown).toBeGreaterThan(0); // the bound below counts the decoders' memory
    expect(allocated).toBeLessThanOrEqual(allocationBound(layout.header, layout.count, bytes.length));
  });

  it("leave value models they do not cover to the TypeScript coder", () => {
    const mask = randomMask(16, 16, 0.2, 1);
    const model = { ...valueModelFor("none", 1), bias: true };
    const sections = new Uint8Array(16);
    expect(decodeSectionsWasm(sections, 0, 8, 16, 16, 16, maskCount(mask), [16], model)).toBeNull();
  });
});
