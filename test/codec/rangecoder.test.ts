import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/codec/crc32.ts";
import { BinaryContexts, RangeDecoder, RangeEncoder } from "../../src/codec/rangecoder.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { differences, entropy, rng } from "./helpers.ts";

describe("CRC-32", () => {
  it("gives the standard check value for 123456789", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
  it("is 0 for no bytes and covers only the requested range", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    const bytes = new TextEncoder().encode("xx123456789yy");
    expect(crc32(bytes, 2, 11)).toBe(0xcbf43926);
  });
});

function roundTrip(bits: number[], contexts: number[], nctx: number, even: boolean[]): number[] {
  const enc = new RangeEncoder(16);
  const ce = new BinaryContexts(nctx, 1 << 10);
  for (let i = 0; i < bits.length; i++) {
    if (even[i]) enc.encodeEven(bits[i]);
    else enc.encode(ce, contexts[i], bits[i]);
  }
  const bytes = enc.finish();
  const dec = new RangeDecoder(bytes, 0, bytes.length);
  const cd = new BinaryContexts(nctx, 1 << 10);
  const out = bits.map((_, i) => (even[i] ? dec.decodeEven() : dec.decode(cd, contexts[i])));
  dec.finish();
  return out;
}

describe("range coder", () => {
  it("decodes any sequence of bits in any contexts to what was coded", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 }), fc.boolean()), {
          maxLength: 3000,
        }),
        (items) => {
          const bits = items.map((t) => t[0]);
          expect(
            roundTrip(
              bits,
              items.map((t) => t[1]),
              4,
              items.map((t) => t[2]),
            ),
          ).toEqual(bits);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("round-trips long skewed runs, where carries and 0xFF chains occur", () => {
    for (const p of [0.5, 0.02, 0.0005, 0.9995]) {
      const r = rng(Math.round(p * 1e4));
      const bits = Array.from({ length: 200_000 }, () => (r() < p ? 1 : 0));
      const ctx = bits.map(() => 0);
      expect(
        differences(
          roundTrip(
            bits,
            ctx,
            1,
            ctx.map(() => false),
          ),
          bits,
        ),
      ).toBe(0);
    }
  });

  it("codes an i.i.d. source within 0.5% of n·H(p) once the context has learnt it", () => {
    for (const p of [0.5, 0.1, 0.02]) {
      const r = rng(7);
      const n = 400_000;
      const enc = new RangeEncoder();
      const ctx = new BinaryContexts(1);
      let ones = 0;
      for (let i = 0; i < n; i++) {
        const b = r() < p ? 1 : 0;
        ones += b;
        enc.encode(ctx, 0, b);
      }
      const bits = enc.finish().length * 8;
      const ideal = n * entropy(ones / n);
      expect(bits / ideal).toBeLessThan(1.005);
    }
  });

  it("refuses a section with unused trailing bytes (more than its 4-byte look-ahead)", () => {
    const enc = new RangeEncoder();
    const ctx = new BinaryContexts(1);
    for (let i = 0; i < 100; i++) enc.encode(ctx, 0, i % 3 === 0 ? 1 : 0);
    const bytes = enc.finish();
    const padded = new Uint8Array(bytes.length + 8).fill(0x55);
    padded.set(bytes);
    const dec = new RangeDecoder(padded, 0, padded.length);
    const cd = new BinaryContexts(1);
    for (let i = 0; i < 100; i++) dec.decode(cd, 0);
    expect(() => dec.finish()).toThrow(MaskcodecError);
  });

  it("refuses to read far past the end of its section instead of inventing data", () => {
    expect(() => new RangeDecoder(new Uint8Array(0), 0, 0, "test section")).toThrow(/truncated/);
    const dec = new RangeDecoder(new Uint8Array([1, 2, 3]), 0, 3, "test section");
    expect(() => {
      for (let i = 0; i < 10_000; i++) dec.decodeEven();
    }).toThrow(MaskcodecError);
  });
});
