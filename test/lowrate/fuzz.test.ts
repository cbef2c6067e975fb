import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/codec/crc32.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { decodeLowrate, encodeLowrate } from "../../src/lowrate/codec.ts";
import { parseLowrate } from "../../src/lowrate/stream.ts";
import { fixCrc, syntheticImage } from "../codec/helpers.ts";

/**
 * Fuzzing the version-2 (tree mode) parser and decoder the way test/codec/fuzz.test.ts fuzzes version 1:
 * CRC-fixed edits of the header fields and the range-coded payload (byte changes, bit flips, insertions,
 * deletions, truncation) reach the tree walk and the value decoder. Every input must either end in a
 * MaskcodecError or parse to a self-consistent stream (one value per point and plane, each below its
 * quantiser's level count, as many points as the trees' mask has) that decodes to an image of the declared
 * size with values in [0, 255]; in bounded time. Declared sizes are capped by maxPixels, so a mutation to a
 * huge image is refused before any work.
 */

const MAX_PIXELS_HERE = 1 << 14;
const RUNS = Number(process.env.MASKCODEC_FUZZ_RUNS ?? 1500);
const SEED = Number(process.env.MASKCODEC_FUZZ_SEED ?? 25);

const base = { chromaPoints: 40, lumaLevels: 8, chromaLevels: 6, lumaRoot: 8, chromaRoot: 16 };
const corpus: Uint8Array[] = [
  encodeLowrate(syntheticImage(48, 32, 3, 1), { ...base, lumaPoints: 300 }).bytes,
  encodeLowrate(syntheticImage(37, 21, 1, 2), { ...base, lumaPoints: 150, lumaLevels: 32 }).bytes,
  encodeLowrate(syntheticImage(64, 9, 3, 3), { ...base, lumaPoints: 90, lumaRoot: 4, chromaRoot: 4 }).bytes,
];

type Edit =
  | { kind: "set"; at: number; value: number }
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; value: number }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; keep: number };

/** One edit at a relative position of the bytes before the CRC; the CRC is recomputed afterwards. */
function applyEdit(stream: Uint8Array, edit: Edit): Uint8Array {
  const body = Array.from(stream.subarray(0, stream.length - 4));
  const pos = (at: number) => Math.min(body.length - 1, Math.floor(at * body.length));
  switch (edit.kind) {
    case "set":
      body[pos(edit.at)] = edit.value;
      break;
    case "flip":
      body[pos(edit.at)] ^= 1 << edit.bit;
      break;
    case "insert":
      body.splice(pos(edit.at), 0, edit.value);
      break;
    case "delete":
      body.splice(pos(edit.at), edit.length);
      break;
    case "truncate":
      body.length = Math.min(body.length, edit.keep);
      break;
  }
  return fixCrc(Uint8Array.from([...body, 0, 0, 0, 0]), (b, s, e) => crc32(b.subarray(s, e)));
}

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  // the header is the first ~20 bytes: weight edits there
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.double({ min: 0, max: 0.25, noNaN: true }),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.integer({ min: 0, max: 400 }) }),
);

function checkConsistent(bytes: Uint8Array): "decoded" | "error" {
  let parsed: ReturnType<typeof parseLowrate>;
  try {
    parsed = parseLowrate(bytes, { maxPixels: MAX_PIXELS_HERE });
  } catch (error) {
    if (!(error instanceof MaskcodecError)) throw error;
    return "error";
  }
  const { width, height, channels } = parsed;
  expect(width * height).toBeLessThanOrEqual(MAX_PIXELS_HERE);
  for (const [group, planes] of [
    [parsed.luma, 1],
    [parsed.chroma, 2],
  ] as const) {
    if (!group) continue;
    expect(group.mask.length).toBe(width * height);
    expect(group.mask.reduce((s, v) => s + v, 0)).toBe(group.count);
    expect(group.indices.length).toBe(group.count * planes);
    for (const v of group.indices) expect(v).toBeLessThan(group.levels);
  }
  expect(parsed.chroma !== undefined).toBe(channels === 3);
  const { image } = decodeLowrate(bytes, { maxPixels: MAX_PIXELS_HERE });
  expect([image.width, image.height, image.channels]).toEqual([width, height, channels]);
  for (const v of image.data) {
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(255);
  }
  return "decoded";
}

describe("version-2 decoder property: CRC-fixed mutations", () => {
  it("every mutated tree-mode stream decodes consistently or ends in MaskcodecError, in bounded time", () => {
    const outcomes = { decoded: 0, error: 0 };
    let slowest = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: corpus.length - 1 }),
        fc.array(editArb, { minLength: 1, maxLength: 3 }),
        (which, edits) => {
          let bytes = corpus[which];
          for (const e of edits) bytes = applyEdit(bytes, e);
          const start = performance.now();
          outcomes[checkConsistent(bytes)]++;
          slowest = Math.max(slowest, performance.now() - start);
          expect(performance.now() - start).toBeLessThan(5000);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    if (process.env.MASKCODEC_FUZZ_REPORT) console.log(outcomes, `slowest ${slowest.toFixed(0)} ms`);
    // Both outcomes occur: the property reached past the CRC and header checks into the payload decoders.
    expect(outcomes.error).toBeGreaterThan(0);
    expect(outcomes.decoded).toBeGreaterThan(0);
  });

  it("the unmutated corpus decodes", () => {
    for (const bytes of corpus) expect(checkConsistent(bytes)).toBe("decoded");
  });
});
