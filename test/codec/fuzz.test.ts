import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/codec/crc32.ts";
import { parseLayout, parseStream, writeStream } from "../../src/codec/stream.ts";
import type { DecodedStream } from "../../src/codec/types.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { createMask, maskCount } from "../../src/image/types.ts";
import {
  allocationBound,
  countAllocations,
  fixCrc,
  gridMask,
  header,
  randomMask,
  rng,
  syntheticImage,
} from "./helpers.ts";

/**
 * Fuzzing the decoder: mutated (bit flips, byte changes, insertions, deletions), truncated and random
 * inputs. Plain mutations must all end in MaskcodecError (the CRC catches them). Mutations with the CRC
 * recomputed reach the header checks and the arithmetic decoders: they must decode to a consistent result
 * or end in MaskcodecError. For every input: bounded time, and no more allocation than the header's
 * validated size needs.
 */

const MAX_PIXELS_HERE = 1 << 16; // keeps CRC-fixed inputs that rewrite the size fast to decode

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  out.push(
    writeStream({
      header: header(24, 16, 1),
      mask: randomMask(24, 16, 0.1, 1),
      values: syntheticImage(24, 16, 1, 1),
    }).bytes,
  );
  out.push(
    writeStream({
      header: header(32, 20, 3),
      mask: randomMask(32, 20, 0.05, 2),
      values: syntheticImage(32, 20, 3, 2),
    }).bytes,
  );
  out.push(
    writeStream({
      header: header(30, 30, 3, "none", [256, 256], true),
      mask: gridMask(30, 30, 0.1),
      values: syntheticImage(30, 30, 3, 3),
    }).bytes,
  );
  out.push(
    writeStream({
      header: header(1, 1, 3),
      mask: createMask(1, 1, new Uint8Array([1])),
      values: syntheticImage(1, 1, 3, 4),
    }).bytes,
  );
  out.push(
    writeStream({
      header: header(40, 3, 1, "none", [5, 5]),
      mask: randomMask(40, 3, 0.6, 5),
      values: syntheticImage(40, 3, 1, 5),
    }).bytes,
  );
  return out;
}

type Outcome = "error" | "decoded";

interface Stats {
  inputs: number;
  errors: number;
  decoded: number;
  maxMs: number;
  overAllocated: number;
}

function allowedBytes(bytes: Uint8Array): number {
  const small = 64 * 1024; // contexts, per-column arrays of small images, TextDecoder
  try {
    const layout = parseLayout(bytes, { maxPixels: MAX_PIXELS_HERE });
    return allocationBound(layout.header, layout.count);
  } catch {
    return small;
  }
}

function attempt(bytes: Uint8Array, stats: Stats, mustFail: boolean): Outcome {
  let outcome = "decoded" as Outcome;
  let result: DecodedStream | undefined;
  const t0 = performance.now();
  const allocated = countAllocations(() => {
    try {
      result = parseStream(bytes, { maxPixels: MAX_PIXELS_HERE });
    } catch (error) {
      if (!(error instanceof MaskcodecError)) throw error; // any other error type fails the test
      outcome = "error";
    }
  });
  const ms = performance.now() - t0;
  stats.inputs++;
  stats.maxMs = Math.max(stats.maxMs, ms);
  if (allocated > allowedBytes(bytes)) stats.overAllocated++;
  if (outcome === "error") stats.errors++;
  else {
    stats.decoded++;
    if (mustFail) throw new Error(`a corrupt input decoded without error (${bytes.length} bytes)`);
    // A CRC-consistent mutation may decode; it must then be self-consistent.
    const r = result as DecodedStream;
    expect(r.mask.width * r.mask.height).toBe(r.header.width * r.header.height);
    expect(r.known.data.length).toBe(r.header.width * r.header.height * r.header.channels);
    expect(maskCount(r.mask)).toBeGreaterThan(0);
    for (const v of r.known.data)
      if (!(v >= 0 && v <= 255)) throw new Error(`decoded value ${v} out of range`);
  }
  return outcome;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A mutation that really changes the input (flips that cancel, or a byte set to its own value, are redrawn). */
function mutate(base: Uint8Array, r: () => number): Uint8Array {
  for (;;) {
    const m = mutateOnce(base, r);
    if (!same(m, base)) return m;
  }
}

function mutateOnce(base: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 5);
  const pick = (n: number) => Math.floor(r() * n);
  switch (kind) {
    case 0: {
      // 1–8 bit flips
      const b = base.slice();
      const flips = 1 + pick(8);
      for (let k = 0; k < flips; k++) {
        const bit = pick(b.length * 8);
        b[bit >> 3] ^= 1 << (bit & 7);
      }
      return b;
    }
    case 1: {
      // 1–4 bytes replaced by random ones (or by 0x00 / 0xFF)
      const b = base.slice();
      const n = 1 + pick(4);
      for (let k = 0; k < n; k++) b[pick(b.length)] = [0, 0xff, pick(256)][pick(3)];
      return b;
    }
    case 2: {
      // a run of random bytes inserted
      const at = pick(base.length + 1);
      const ins = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
      return new Uint8Array([...base.subarray(0, at), ...ins, ...base.subarray(at)]);
    }
    case 3: {
      // a run of bytes deleted
      const at = pick(base.length);
      const len = 1 + pick(Math.min(16, base.length - at));
      return new Uint8Array([...base.subarray(0, at), ...base.subarray(at + len)]);
    }
    default: {
      // a header field set to an extreme value: one of the first 24 bytes
      const b = base.slice();
      b[pick(Math.min(24, b.length))] = [0, 1, 0x7f, 0x80, 0xff][pick(5)];
      return b;
    }
  }
}

describe("decoder fuzzing", () => {
  const bases = corpus();

  it("every one of 10,000+ mutated, truncated and random inputs ends in MaskcodecError, quickly, within its allocation bound", () => {
    const r = rng(20240601);
    const stats: Stats = { inputs: 0, errors: 0, decoded: 0, maxMs: 0, overAllocated: 0 };
    for (let k = 0; k < 7000; k++) attempt(mutate(bases[k % bases.length], r), stats, true);
    for (let k = 0; k < 1500; k++) {
      const base = bases[k % bases.length];
      attempt(base.slice(0, Math.floor(r() * base.length)), stats, true);
    }
    for (let k = 0; k < 1500; k++) {
      const length = Math.floor(r() * 300);
      const bytes = Uint8Array.from({ length }, () => Math.floor(r() * 256));
      if (k % 2 === 0 && length >= 4) bytes.set([0x4d, 0x47, 0x43, 1]); // past the magic and version checks
      attempt(bytes, stats, true);
    }
    console.log(
      `fuzz (plain): ${stats.inputs} inputs, all errors: ${stats.errors === stats.inputs}, max ${stats.maxMs.toFixed(1)} ms per input`,
    );
    expect(stats.inputs).toBeGreaterThanOrEqual(10_000);
    expect(stats.errors).toBe(stats.inputs);
    expect(stats.overAllocated).toBe(0);
    expect(stats.maxMs).toBeLessThan(1000);
  });

  it("inputs mutated with a recomputed CRC reach the decoders and either decode consistently or end in MaskcodecError", () => {
    const r = rng(7);
    const stats: Stats = { inputs: 0, errors: 0, decoded: 0, maxMs: 0, overAllocated: 0 };
    for (let k = 0; k < 4000; k++) {
      const bytes = fixCrc(mutate(bases[k % bases.length], r), crc32);
      attempt(bytes, stats, false);
    }
    for (let k = 0; k < 1000; k++) {
      const length = 12 + Math.floor(r() * 200);
      const bytes = Uint8Array.from({ length }, () => Math.floor(r() * 256));
      bytes.set([
        0x4d,
        0x47,
        0x43,
        1,
        1 + Math.floor(r() * 100),
        1 + Math.floor(r() * 100),
        r() < 0.5 ? 1 : 3,
        Math.floor(r() * 2),
        0,
      ]);
      attempt(fixCrc(bytes, crc32), stats, false);
    }
    console.log(
      `fuzz (CRC fixed): ${stats.inputs} inputs, ${stats.errors} MaskcodecErrors, ${stats.decoded} decoded consistently, max ${stats.maxMs.toFixed(1)} ms per input`,
    );
    expect(stats.errors + stats.decoded).toBe(stats.inputs);
    expect(stats.errors).toBeGreaterThan(0);
    expect(stats.overAllocated).toBe(0);
    expect(stats.maxMs).toBeLessThan(1000);
  });
});
