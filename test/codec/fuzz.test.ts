import { dirname, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MODELS_DIR, STREAM_HASH_HEX_DIGITS, streamModelDir } from "../../src/backends.ts";
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
 * inputs. Plain mutations must all end in MaskcodecError (the CRC catches them). Structured mutations with
 * the CRC recomputed (a fast-check property: header fields, model id and weight hash, section lengths,
 * section bytes, insertions and deletions) reach the header checks and the arithmetic decoders: they must
 * decode to a consistent result or end in MaskcodecError, and a gan header that parses must carry a usable
 * weight hash and a model id that resolves inside models/ or is refused. For every input: bounded time, and
 * no more allocation than the header's validated size needs. Declared sizes are capped by the parser's
 * maxPixels option (MAX_PIXELS_HERE), so a mutation to a huge size is refused before any work;
 * MASKCODEC_FUZZ_RUNS and MASKCODEC_FUZZ_SEED run the property longer or with another seed.
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
    return allocationBound(layout.header, layout.count, bytes.length);
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
});

// ------------------------------------------------------------------------ structured, CRC-fixed mutations

/**
 * A stream taken apart into the fields the parser reads, so that a mutation can aim at one of them (a
 * header field, the model id, the weight hash, a section length, a section's bytes) and the stream be put
 * back together with a valid CRC: every case reaches the parser's later checks and the arithmetic decoders.
 */
interface Varint {
  value: number;
  /** Written in a longer than shortest form (one redundant continuation byte). */
  padded?: boolean;
}
interface Parts {
  /** Magic and version. */
  prefix: number[];
  width: Varint;
  height: Varint;
  /** Channels, colour transform, backend, luma levels - 1, chroma levels - 1. */
  fields: number[];
  gan?: { idLength: number; id: Uint8Array; hashLength: number; hash: Uint8Array };
  count: Varint;
  maskLength: Varint;
  mask: Uint8Array;
  values: Uint8Array;
}

function pushVarint(out: number[], { value, padded }: Varint): void {
  let v = value;
  do {
    const low = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 || padded ? low | 0x80 : low);
  } while (v > 0);
  if (padded) out.push(0);
}

function assemble(p: Parts): Uint8Array {
  const out: number[] = [...p.prefix];
  pushVarint(out, p.width);
  pushVarint(out, p.height);
  out.push(...p.fields);
  if (p.gan) out.push(p.gan.idLength, ...p.gan.id, p.gan.hashLength, ...p.gan.hash);
  pushVarint(out, p.count);
  pushVarint(out, p.maskLength);
  out.push(...p.mask, ...p.values, 0, 0, 0, 0);
  return new Uint8Array(out);
}

function takeApart(bytes: Uint8Array): Parts {
  const layout = parseLayout(bytes);
  const h = layout.header;
  const encode = (s: string) => new TextEncoder().encode(s);
  const parts: Parts = {
    prefix: [...bytes.subarray(0, 4)],
    width: { value: h.width },
    height: { value: h.height },
    fields: [
      h.channels,
      h.colour === "ycbcr" ? 1 : 0,
      h.backend === "gan" ? 1 : 0,
      h.quantiser.lumaLevels - 1,
      h.quantiser.chromaLevels - 1,
    ],
    count: { value: layout.count },
    maskLength: { value: layout.maskEnd - layout.maskStart },
    mask: bytes.slice(layout.maskStart, layout.maskEnd),
    values: bytes.slice(layout.maskEnd, layout.valuesEnd),
  };
  if (h.backend === "gan") {
    const id = encode(h.modelId ?? "");
    const hash = encode(h.weightHash ?? "");
    parts.gan = { idLength: id.length, id, hashLength: hash.length, hash };
  }
  return parts;
}

const HOSTILE_IDS = [
  "../../../../../../etc",
  "../../../../../../tmp/x/evil",
  "../maskgan-v5",
  "maskgan-v5/../../x",
  "/etc",
  "..",
  ".",
  "a/b",
  "a\\b",
  "C:\\models",
  "%2e%2e",
  "maskgan-v5",
  "maskgan-v12-lo",
  "maskgan-v999",
];

const anyVarint = fc.record({
  value: fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.constantFrom(0, 1, 127, 128, 16383, 16384, 1 << 16, (1 << 16) + 1, 1 << 26, 2 ** 32 - 1, 2 ** 32),
    fc.constantFrom(2 ** 35 - 1, 2 ** 35), // the longest 5-byte varint and one byte too long
    fc.integer({ min: 0, max: 2 ** 35 }),
  ),
  padded: fc.boolean(),
});
const hexDigits = (max: number) =>
  fc.array(fc.constantFrom(..."0123456789abcdefABCDEF"), { maxLength: max }).map((d) => d.join(""));
const textBytes = (s: fc.Arbitrary<string>) => s.map((v) => new TextEncoder().encode(v));

type Mutation =
  | { kind: "prefix"; index: number; value: number }
  | { kind: "field"; index: number; value: number }
  | { kind: "varint"; which: "width" | "height" | "count" | "maskLength"; to: Varint }
  | { kind: "maskLength by"; delta: number }
  | { kind: "model id"; id: Uint8Array; declared: number | null }
  | { kind: "weight hash"; hash: Uint8Array; declared: number | null }
  | { kind: "no model" }
  | { kind: "section"; which: "mask" | "values"; edit: Edit }
  | { kind: "stream"; edit: Edit };
type Edit =
  | { op: "set"; at: number; value: number }
  | { op: "flip"; at: number; bit: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("prefix" as const),
    // mostly the version: a wrong magic ends every case at the first check
    index: fc.oneof({ arbitrary: fc.constant(3), weight: 3 }, fc.integer({ min: 0, max: 2 })),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("field" as const),
    index: fc.integer({ min: 0, max: 4 }),
    value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 255), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({
    kind: fc.constant("varint" as const),
    which: fc.constantFrom("width" as const, "height" as const, "count" as const, "maskLength" as const),
    to: anyVarint,
  }),
  fc.record({ kind: fc.constant("maskLength by" as const), delta: fc.integer({ min: -8, max: 8 }) }),
  fc.record({
    kind: fc.constant("model id" as const),
    id: fc.oneof(
      textBytes(fc.constantFrom(...HOSTILE_IDS)),
      textBytes(fc.string({ maxLength: 40 })),
      textBytes(fc.string({ unit: "binary", maxLength: 40 })),
      fc.uint8Array({ maxLength: 300 }),
    ),
    declared: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 4 }),
  }),
  fc.record({
    kind: fc.constant("weight hash" as const),
    hash: fc.oneof(textBytes(hexDigits(140)), fc.uint8Array({ maxLength: 140 })),
    declared: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 4 }),
  }),
  fc.constant({ kind: "no model" as const }),
  fc.record({
    kind: fc.constant("section" as const),
    which: fc.constantFrom("mask" as const, "values" as const),
    edit,
  }),
  fc.record({ kind: fc.constant("stream" as const), edit }),
);

function applyEdit(bytes: Uint8Array, e: Edit, keepTail = 0): Uint8Array {
  const n = bytes.length - keepTail; // bytes that may be edited (the stream's CRC is rewritten anyway)
  if (e.op === "insert") {
    const at = e.at % (n + 1);
    return new Uint8Array([...bytes.subarray(0, at), ...e.bytes, ...bytes.subarray(at)]);
  }
  if (n === 0) return bytes;
  const at = e.at % n;
  if (e.op === "delete") return new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + e.length)]);
  const out = bytes.slice();
  if (e.op === "set") out[at] = e.value;
  else out[at] ^= 1 << e.bit;
  return out;
}

function mutated(base: Parts, mutations: Mutation[]): Uint8Array {
  const p: Parts = {
    ...base,
    prefix: [...base.prefix],
    fields: [...base.fields],
    gan: base.gan && { ...base.gan },
  };
  const streamEdits: Edit[] = [];
  const emptyGan = () => ({ idLength: 0, id: new Uint8Array(0), hashLength: 0, hash: new Uint8Array(0) });
  for (const m of mutations) {
    switch (m.kind) {
      case "prefix":
        p.prefix[m.index] = m.value;
        break;
      case "field":
        p.fields[m.index] = m.value;
        break;
      case "varint":
        p[m.which] = m.to;
        break;
      case "maskLength by":
        p.maskLength = { value: Math.max(0, p.maskLength.value + m.delta) };
        break;
      case "model id":
        p.gan = { ...(p.gan ?? emptyGan()), id: m.id, idLength: m.declared ?? m.id.length & 0xff };
        break;
      case "weight hash":
        p.gan = { ...(p.gan ?? emptyGan()), hash: m.hash, hashLength: m.declared ?? m.hash.length & 0xff };
        break;
      case "no model":
        p.gan = undefined;
        break;
      case "section":
        p[m.which] = applyEdit(p[m.which], m.edit);
        break;
      case "stream":
        streamEdits.push(m.edit);
        break;
    }
  }
  let bytes = assemble(p);
  for (const e of streamEdits) bytes = applyEdit(bytes, e, 4);
  return fixCrc(bytes, crc32);
}

/** "… 12 … \"x\" …" -> "… N … \"…\" …": error messages grouped by kind for the histogram. */
const messageKind = (m: string) => m.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, "N");

describe("decoder property: CRC-fixed structured mutations", () => {
  it("every mutated stream decodes to a consistent image or ends in MaskcodecError, in bounded time and memory", () => {
    const bases = [
      ...corpus(),
      writeStream({
        header: { ...header(24, 20, 3, "ycbcr", [16, 16], true), modelId: "maskgan-v5" },
        mask: randomMask(24, 20, 0.1, 9),
        values: syntheticImage(24, 20, 3, 9),
      }).bytes,
    ].map((bytes) => {
      const parts = takeApart(bytes);
      expect(assemble(parts).subarray(0, -4)).toEqual(bytes.subarray(0, -4)); // taken apart losslessly
      return parts;
    });
    const runs = Number(process.env.MASKCODEC_FUZZ_RUNS ?? 10_000);
    const seed = Number(process.env.MASKCODEC_FUZZ_SEED ?? 26);
    const codes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    const stats = { cases: 0, decoded: 0, gan: 0, resolvedModels: 0, maxMs: 0, overAllocated: 0, peakRss: 0 };
    const rssBefore = process.memoryUsage().rss;

    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (baseIndex, mutations) => {
          const bytes = mutated(bases[baseIndex], mutations);
          let decoded: DecodedStream | undefined;
          const t0 = performance.now();
          const allocated = countAllocations(() => {
            try {
              decoded = parseStream(bytes, { maxPixels: MAX_PIXELS_HERE });
            } catch (error) {
              if (!(error instanceof MaskcodecError)) throw error; // anything else fails the property
              count(codes, error.code);
              count(kinds, messageKind(error.message));
            }
          });
          const ms = performance.now() - t0;
          stats.cases++;
          stats.maxMs = Math.max(stats.maxMs, ms);
          if (allocated > allowedBytes(bytes)) stats.overAllocated++;
          if (stats.cases % 1000 === 0) stats.peakRss = Math.max(stats.peakRss, process.memoryUsage().rss);
          if (!decoded) return;
          stats.decoded++;
          count(codes, "decoded");
          const { header: h, mask, known } = decoded;
          expect(mask.data.length).toBe(h.width * h.height);
          expect(known.data.length).toBe(h.width * h.height * h.channels);
          expect(maskCount(mask)).toBeGreaterThan(0);
          for (const v of known.data)
            if (!(v >= 0 && v <= 255)) throw new Error(`decoded value ${v} out of range`);
          if (h.backend !== "gan") return;
          // what the decoder does next with a gan header: the hash is long enough to mean something, and
          // the model id reaches a registered folder directly inside models/ or is refused
          stats.gan++;
          expect(h.weightHash?.length).toBeGreaterThanOrEqual(STREAM_HASH_HEX_DIGITS);
          try {
            expect(dirname(streamModelDir(h.modelId))).toBe(join(MODELS_DIR));
            stats.resolvedModels++;
          } catch (error) {
            const refused =
              error instanceof MaskcodecError && ["ERR_MODEL_ID", "ERR_MODEL_UNKNOWN"].includes(error.code);
            if (!refused) throw error;
            count(codes, error.code);
          }
        },
      ),
      { numRuns: runs, seed },
    );

    const rssAfter = process.memoryUsage().rss;
    stats.peakRss = Math.max(stats.peakRss, rssAfter);
    const top = [...kinds].sort((a, b) => b[1] - a[1]);
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(
      `fuzz (property, seed ${seed}): ${stats.cases} cases, ${stats.decoded} decoded (${stats.gan} gan, ` +
        `${stats.resolvedModels} naming a shipped model), max ${stats.maxMs.toFixed(1)} ms per case, ` +
        `rss ${mb(rssBefore)} -> ${mb(rssAfter)} MB (peak sampled ${mb(stats.peakRss)} MB)\n` +
        `codes: ${JSON.stringify(Object.fromEntries(codes))}\n` +
        `${top.length} kinds of error: ${top.map(([k, n]) => `${n} ${k}`).join("; ")}`,
    );
    expect(stats.cases).toBe(runs);
    expect(stats.overAllocated).toBe(0);
    expect(stats.maxMs).toBeLessThan(1000);
    // the mutations reach the deep checks, not only the first ones
    expect(stats.decoded).toBeGreaterThan(0);
    expect(codes.get("ERR_MODEL_ID") ?? 0).toBeGreaterThan(0);
  });
});
