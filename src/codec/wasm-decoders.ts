import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createMask, type Mask } from "../image/types.ts";
import { maskPriors, wrongMaskCount } from "./maskcoder.ts";
import { badStart, trailingBytes, truncated } from "./rangecoder.ts";
import { type ValueModelOptions, valueOutOfRange, windowRadius } from "./valuecoder.ts";

/**
 * The decoder's mask and values sections on WebAssembly (src/codec/wasm/stream-decoders.c): the same models as
 * maskcoder.ts and valuecoder.ts, line for line and with the same double arithmetic, so the same mask, values
 * and errors (test/codec/wasm-decoders.test.ts). Why: a decode is one pass over each section, which a fresh
 * process ran on V8's interpreter until the optimising compiler caught up; reading a 768 × 512 stream took
 * 0.10 s of a 0.4 s diffusion decode, 0.03 s once optimised. The encoder, the tree mode's sections and value
 * models the module does not cover stay on the TypeScript coders; so does everything with MASKCODEC_WASM=0.
 *
 * Each call instantiates the (cached) module afresh with its own memory, which the collector takes back after
 * the call: a 12 MP stream's work arrays do not stay with the process.
 */

interface DecoderExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  trailing(): number;
  decode_mask(
    bytes: number,
    start: number,
    end: number,
    data: number,
    width: number,
    height: number,
    count: number,
    p0: number,
    p1: number,
    radius: number,
    th0: number,
    th1: number,
    th2: number,
    scratch: number,
  ): number;
  decode_values(
    bytes: number,
    start: number,
    end: number,
    mask: number,
    width: number,
    height: number,
    channels: number,
    levels0: number,
    levels1: number,
    levels2: number,
    radius: number,
    power: number,
    nearest: number,
    interChannel: number,
    limit: number,
    q: number,
    scratch: number,
  ): number;
}

/** The module's status codes (stream-decoders.c). */
const OK = 0;
const BAD_START = 1;
const TRUNCATED = 2;
const TRAILING = 3;
const WRONG_COUNT = 4;
const OUT_OF_RANGE = 5;

let compiled: WebAssembly.Module | null | undefined;

function decoderModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  if (process.env.MASKCODEC_WASM === "0" || typeof WebAssembly === "undefined") {
    compiled = null;
    return compiled;
  }
  try {
    compiled = new WebAssembly.Module(
      readFileSync(join(import.meta.dirname, "wasm", "stream-decoders.wasm")),
    );
  } catch {
    compiled = null;
  }
  return compiled;
}

/** For tests and benchmarks: switch the WebAssembly decoders on or off. */
export function setWasmDecoders(enabled: boolean): void {
  compiled = enabled && process.env.MASKCODEC_WASM !== "0" ? undefined : null;
}

/** Whether the WebAssembly decoders are in use. */
export function wasmDecodersAvailable(): boolean {
  return decoderModule() !== null;
}

const PAGE = 65536;

const align8 = (n: number) => (n + 7) & ~7;

/** Throws the TypeScript coders' error for a status (`what`: the section, as the TypeScript coder names it). */
function check(status: number, k: DecoderExports, what: string): void {
  if (status === OK) return;
  if (status === BAD_START) throw badStart(what);
  if (status === TRUNCATED) throw truncated(what);
  if (status === TRAILING) throw trailingBytes(what, k.trailing());
  if (status === WRONG_COUNT) throw wrongMaskCount();
  if (status === OUT_OF_RANGE) throw valueOutOfRange();
  throw new Error(`stream decoder status ${status}`);
}

/** What a stream's sections decode to: the mask and the level indices (count × channels, pixel-major). */
export interface DecodedSections {
  mask: Mask;
  q: Uint8Array;
}

/**
 * The mask section bytes[maskStart, maskEnd) and the values section bytes[maskEnd, valuesEnd) of a
 * width × height stream with `count` known pixels, decoded as decodeMask and codeValues (with the decoder's
 * `finish` check of each section) would, with the same errors. Null where the module is unavailable or does
 * not cover `model`: the caller decodes with the TypeScript coders.
 *
 * One instance for both sections, its memory laid out as [sections][mask][levels][work arrays]; the mask is
 * copied out (it lives on with the decoded image), the levels are a view, let go with the instance when the
 * caller has read them.
 */
export function decodeSectionsWasm(
  bytes: Uint8Array,
  maskStart: number,
  maskEnd: number,
  valuesEnd: number,
  width: number,
  height: number,
  count: number,
  levels: readonly number[],
  model: ValueModelOptions,
): DecodedSections | null {
  const channels = levels.length;
  if (model.bias || !(model.power === 1 || model.power === 2) || channels > 3) return null;
  const module = decoderModule();
  if (!module) return null;
  const n = width * height;
  const maskAt = align8(valuesEnd - maskStart);
  const qAt = maskAt + align8(n);
  const scratchAt = qAt + align8(count * channels);
  // the mask's column counts, row starts and known columns (the values' column arrays take less), and 16 KiB
  // for the contexts (12 KiB) and the candidate lists
  const scratch = 8 * width + 4 * (height + 1) + 4 * count + 16384;
  const k = new WebAssembly.Instance(module).exports as unknown as DecoderExports;
  const base = ((k.__heap_base.value as number) + 7) & ~7;
  const need = base + scratchAt + scratch;
  if (need > 2 ** 31) return null;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / PAGE));
  const memory = new Uint8Array(k.memory.buffer);
  memory.set(bytes.subarray(maskStart, valuesEnd), base);
  const { p0, p1, radius, th0, th1, th2 } = maskPriors(width, height, count);
  const maskEndAt = maskEnd - maskStart;
  check(
    k.decode_mask(
      base,
      0,
      maskEndAt,
      base + maskAt,
      width,
      height,
      count,
      p0,
      p1,
      radius,
      th0,
      th1,
      th2,
      base + scratchAt,
    ),
    k,
    "mask section",
  );
  const mask = createMask(width, height);
  mask.data.set(memory.subarray(base + maskAt, base + maskAt + n));
  check(
    k.decode_values(
      base,
      maskEndAt,
      valuesEnd - maskStart,
      base + maskAt,
      width,
      height,
      channels,
      levels[0],
      levels[1] ?? 0,
      levels[2] ?? 0,
      windowRadius(count, n, model),
      model.power,
      model.nearest,
      model.interChannel,
      model.limit,
      base + qAt,
      base + scratchAt,
    ),
    k,
    "values section",
  );
  return { mask, q: memory.subarray(base + qAt, base + qAt + count * channels) };
}
