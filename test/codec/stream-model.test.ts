import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { inpainterFor, MODELS_DIR, STREAM_HASH_HEX_DIGITS, streamModelDir } from "../../src/backends.ts";
import { crc32 } from "../../src/codec/crc32.ts";
import { parseStream, writeStream } from "../../src/codec/stream.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { fixCrc, header, randomMask, syntheticImage } from "./helpers.ts";

/** What a gan stream's header may name: its model (a folder directly inside models/) and its weights' hash. */

function ganStreamWithHash(hash: string): Uint8Array {
  const bytes = writeStream({
    header: header(8, 6, 3, "ycbcr", [16, 16], true),
    mask: randomMask(8, 6, 0.2, 1),
    values: syntheticImage(8, 6, 3, 1),
  }).bytes;
  // replace the 16-digit hash the writer accepts: magic, version, 1-byte sizes and 5 fields, then the id
  const at = 11 + 1 + bytes[11];
  expect(bytes[at]).toBe(16);
  const digits = new TextEncoder().encode(hash);
  return fixCrc(
    new Uint8Array([...bytes.subarray(0, at), digits.length, ...digits, ...bytes.subarray(at + 17)]),
    crc32,
  );
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof MaskcodecError) return error.code;
    throw error;
  }
  return undefined;
}

describe("weight hash length", () => {
  it("the parser refuses fewer than 16 hex digits and reads 16 to 128", () => {
    expect(STREAM_HASH_HEX_DIGITS).toBe(16);
    for (const digits of [1, 4, 15]) {
      expect(() => parseStream(ganStreamWithHash("4".repeat(digits)))).toThrow(
        new RegExp(`weight hash of ${digits} hex digits`),
      );
    }
    for (const digits of [16, 64, 128]) {
      expect(parseStream(ganStreamWithHash("a".repeat(digits))).header.weightHash).toBe("a".repeat(digits));
    }
    expect(codeOf(() => parseStream(ganStreamWithHash("a".repeat(129))))).toBe("ERR_CORRUPT_STREAM");
  });

  it("the writer refuses fewer than 16 hex digits", () => {
    const write = (weightHash: string) => () =>
      writeStream({
        header: { ...header(8, 6, 3, "ycbcr", [16, 16], true), weightHash },
        mask: randomMask(8, 6, 0.2, 1),
        values: syntheticImage(8, 6, 3, 1),
      });
    expect(write("4")).toThrow(/16 to 128 hex digits/);
    expect(write("0123456789abcde")).toThrow(/16 to 128 hex digits/);
    expect(write("0123456789abcdef")).not.toThrow();
  });

  it("the decoder refuses a header with a short hash before loading any model", async () => {
    const h = { ...header(8, 6, 3, "ycbcr", [16, 16], true), modelId: "maskgan-v5", weightHash: "4" };
    await expect(inpainterFor(h)).rejects.toThrow(/fewer than 16 hex digits/);
  });
});

describe("model ids from a stream", () => {
  it("a plain name of a folder inside models/ resolves there", () => {
    const dir = streamModelDir("maskgan-v5");
    expect(dir).toBe(join(MODELS_DIR, "maskgan-v5"));
    expect(dirname(dir)).toBe(join(MODELS_DIR));
  });

  it("anything else is refused with ERR_MODEL_ID, naming the id", () => {
    const hostile = [
      "../../../../../../etc",
      "../maskgan-v5",
      "maskgan-v5/../maskgan-v5",
      "a/b",
      "a\\b",
      "/etc",
      "..",
      ".",
      ".hidden",
      "x..y",
      "",
      "maskgan v5",
      "maskgan-v5\u0000",
      "m\u00e4skgan",
      "a".repeat(129),
    ];
    for (const id of hostile) {
      expect([id, codeOf(() => streamModelDir(id))]).toEqual([id, "ERR_MODEL_ID"]);
      expect(() => streamModelDir(id)).toThrow(JSON.stringify(id));
    }
    expect(codeOf(() => streamModelDir(undefined))).toBe("ERR_MODEL_ID");
  });

  it("a plain name that is not in the model registry is refused with ERR_MODEL_UNKNOWN, naming it", () => {
    for (const id of ["maskgan-v999", "maskgan-v1", "registry.json"]) {
      expect([id, codeOf(() => streamModelDir(id))]).toEqual([id, "ERR_MODEL_UNKNOWN"]);
      expect(() => streamModelDir(id)).toThrow(JSON.stringify(id));
    }
  });
});
