import { corruptStream, invalidParameter, MaskcodecError } from "../errors.ts";
import { rgbToYcbcrPixel, ycbcrToRgbInto } from "../image/colour.ts";
import { type Channels, createImage, type Image, type Mask } from "../image/types.ts";
import { DecodingBitCoder, EncodingBitCoder } from "./bitio.ts";
import { crc32 } from "./crc32.ts";
import {
  MAX_MODEL_ID_LENGTH,
  MAX_PIXELS,
  MAX_SIDE,
  MAX_WEIGHT_HASH_LENGTH,
  MIN_WEIGHT_HASH_LENGTH,
} from "./limits.ts";
import { decodeMask, encodeMask } from "./maskcoder.ts";
import { channelLevels, dequantise, MAX_LEVELS, MIN_LEVELS, quantise } from "./quantiser.ts";
import {
  BACKEND_CODES,
  type BackendId,
  COLOUR_CODES,
  type ColourTransform,
  type DecodedStream,
  type StreamContent,
  type StreamHeader,
  type StreamSizes,
} from "./types.ts";
import { codeValues, type ValueModelOptions, valueModelFor } from "./valuecoder.ts";
import { type DecodedSections, decodeSectionsWasm } from "./wasm-decoders.ts";

/**
 * The .mgc container (byte by byte in docs/notes/codec.md):
 *
 *   "MGC" | version u8 | width varint | height varint | channels u8 | colour u8 | backend u8 |
 *   luma levels-1 u8 | chroma levels-1 u8 | [gan: id length u8, id UTF-8, hash length u8, hash ASCII hex] |
 *   known-pixel count varint | mask length varint | mask section | values section | CRC-32 u32 BE
 *
 * varint = unsigned LEB128, at most 5 bytes, shortest form. The CRC covers every byte before it. The
 * values section runs from the end of the mask section to the CRC.
 *
 * Parsing checks, in this order and before allocating anything sized by the header: length, magic, version,
 * CRC, every field's range (width * height <= MAX_PIXELS and the caller's maxPixels), count <= pixels,
 * section bounds. The arithmetic decoders then run a bounded number of steps (one per pixel or value),
 * refuse to read more than 3 bytes past their section and must use all of it.
 */

/**
 * The version written. Versions 1, 3, 5, 6 and 7 share this layout; they differ in how a backend decodes:
 * version 3's diffusion solve stops earlier than 1's (diffusionDecodeTolerance), version 5's gan networks take
 * their products on 16-bit integers (networkArithmetic), version 6's gan decoder runs larger tiles
 * (src/nets/tiling.ts decoderTiling) and stops its diffusion input's solve earlier (diffusionInputTolerance),
 * and version 7's decoders solve their diffusion systems in float32 (diffusionDecodeArithmetic). Older
 * streams decode as they always did.
 */
export const FORMAT_VERSION = 7;
/**
 * The tree mode's stream as written (src/lowrate/stream.ts parses it; decodeBytes dispatches on this byte).
 * Versions 2 and 4 share that layout and differ as 1 and 3 do (diffusionDecodeTolerance).
 */
export const LOWRATE_VERSION = 4;
/** The tree mode's versions this build reads. */
export const LOWRATE_VERSIONS: readonly number[] = [2, LOWRATE_VERSION];
/** The versions of this layout this build reads (and can write, for tests and comparisons). */
export const LAYOUT_VERSIONS: readonly number[] = [1, 3, 5, 6, FORMAT_VERSION];
/** Every version this build reads, for messages. */
const READABLE_VERSIONS = "1 to 7";

/**
 * The relative residual at which a stream's homogeneous-diffusion decode stops, by format version: part of
 * what a stream decodes to. Version 3's 1e-4 takes 5–7 conjugate-gradient iterations where 1e-6 took 7–11
 * (all 24 Kodak images at 2, 5 and 10 %: 37 % fewer), moves decoded samples by at most 0.3 of a level
 * before rounding (kodim01 at 768 × 512 and upscaled to 4000 × 3000), and the PSNR by at most 0.0005 dB
 * (docs/notes/codec.md, "Format versions"). The tree mode's version 4 is to its version 2 what 3 is to 1: on
 * its sparser masks 1e-4 takes 6–7 iterations where 1e-6 took 10–12, and moved samples by at most 0.56 of a
 * level (kodim01 at 0.15 bpp).
 */
export function diffusionDecodeTolerance(version: number): number {
  return version >= 3 ? 1e-4 : 1e-6;
}

/**
 * The arithmetic of a stream's homogeneous-diffusion solves, by format version: part of what a stream decodes
 * to. From version 7 the diffusion backend's decode and the gan decoder's diffusion input solve in float32
 * (src/baselines/cg-f32.ts: a colour image's three channels in one SIMD group, or one channel at a time, the
 * same values): the same iterations and the same distance from the converged solution, a Kodak-sized colour
 * solve in about half the time (docs/notes/photos.md, "Format version 7").
 */
export function diffusionDecodeArithmetic(version: number): "float64" | "float32" {
  return version >= 7 ? "float32" : "float64";
}

/** How the diffusion backend decodes a stream of this version: its solve's stop and arithmetic. */
export function diffusionDecoding(version: number): { tolerance: number; arithmetic: "float64" | "float32" } {
  return { tolerance: diffusionDecodeTolerance(version), arithmetic: diffusionDecodeArithmetic(version) };
}

/**
 * The arithmetic of the gan networks' convolutions by format version: part of what a stream decodes to.
 * Version 5's 16-bit products (src/nets/wasm/conv-kernels.c) decode about 1.3–1.5 times faster; they move
 * decoded samples by less than a tenth of a level before rounding (docs/notes/nets.md, "Sixteen-bit
 * convolutions").
 */
export function networkArithmetic(version: number): "float32" | "int16" {
  return version >= 5 ? "int16" : "float32";
}

/**
 * The relative residual at which the gan inpainting generator's diffusion input (src/nets/diffusion-op.ts
 * diffusionInput) stops, by format version and the pixels of the (padded) decoder window: part of what a
 * stream decodes to. From version 6, windows of more than 2^20 pixels stop at 1e-3: 4 conjugate-gradient
 * iterations where 1e-4 took 5 on the windows of a 12 MP photo, the input moved by about 0.03 of a level in
 * RMSE, the decoded photo's PSNR the same to 0.001 dB. Smaller windows keep 1e-4: their solve costs little,
 * and on the 128 × 128 crops of Table 3 the looser stop cost 0.0006–0.0035 of MAE (docs/notes/photos.md,
 * "Format version 6"); so Kodak-sized images decode as in version 5.
 */
export function diffusionInputTolerance(version: number, windowPixels: number): number {
  return version >= 6 && windowPixels > LARGE_WINDOW_PIXELS ? 1e-3 : 1e-4;
}

/** Decoder windows above this many pixels take version 6's looser diffusion input (diffusionInputTolerance). */
export const LARGE_WINDOW_PIXELS = 1 << 20;
const MAGIC = [0x4d, 0x47, 0x43]; // "MGC"
const COLOURS: readonly ColourTransform[] = COLOUR_CODES;
const BACKENDS: readonly BackendId[] = BACKEND_CODES;
/** Smallest possible stream: magic, version, 1-byte width and height, 5 bytes of fields, count, mask length, CRC. */
const MIN_STREAM = 3 + 1 + 1 + 1 + 5 + 1 + 1 + 4;

export interface ParseOptions {
  /** Refuse streams declaring more pixels than this (default and ceiling: MAX_PIXELS). */
  maxPixels?: number;
}

// ---------------------------------------------------------------------------------------------- header

function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** Validates a header for writing; every problem is an invalidParameter error. */
export function checkHeader(header: StreamHeader): void {
  if (!LAYOUT_VERSIONS.includes(header.version)) {
    throw invalidParameter("version", `format version ${LAYOUT_VERSIONS.join(" or ")}`, header.version);
  }
  if (!Number.isInteger(header.width) || header.width < 1 || header.width > MAX_SIDE) {
    throw invalidParameter("width", `an integer between 1 and ${MAX_SIDE}`, header.width);
  }
  if (!Number.isInteger(header.height) || header.height < 1 || header.height > MAX_SIDE) {
    throw invalidParameter("height", `an integer between 1 and ${MAX_SIDE}`, header.height);
  }
  if (header.width * header.height > MAX_PIXELS) {
    throw invalidParameter("width * height", `at most ${MAX_PIXELS} pixels`, header.width * header.height);
  }
  if (header.channels !== 1 && header.channels !== 3) {
    throw invalidParameter("channels", "1 or 3", header.channels);
  }
  if (!COLOURS.includes(header.colour)) throw invalidParameter("colour", "none or ycbcr", header.colour);
  if (header.colour === "ycbcr" && header.channels !== 3) {
    throw invalidParameter("colour", 'colour "none" for a grey image', header.colour);
  }
  if (!BACKENDS.includes(header.backend)) {
    throw invalidParameter("backend", "diffusion or gan", header.backend);
  }
  for (const [name, v] of [
    ["luma levels", header.quantiser?.lumaLevels],
    ["chroma levels", header.quantiser?.chromaLevels],
  ] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_LEVELS || v > MAX_LEVELS) {
      throw invalidParameter(name, `an integer between ${MIN_LEVELS} and ${MAX_LEVELS}`, v);
    }
  }
  if (header.backend === "gan") {
    const id = header.modelId;
    if (typeof id !== "string" || id.length === 0 || !isPrintable(id)) {
      throw invalidParameter("modelId", "a non-empty printable string for the gan backend", id);
    }
    if (new TextEncoder().encode(id).length > MAX_MODEL_ID_LENGTH) {
      throw invalidParameter("modelId", `at most ${MAX_MODEL_ID_LENGTH} bytes of UTF-8`, id);
    }
    const hash = header.weightHash;
    if (
      typeof hash !== "string" ||
      !/^[0-9a-fA-F]+$/.test(hash) ||
      hash.length < MIN_WEIGHT_HASH_LENGTH ||
      hash.length > MAX_WEIGHT_HASH_LENGTH
    ) {
      throw invalidParameter(
        "weightHash",
        `${MIN_WEIGHT_HASH_LENGTH} to ${MAX_WEIGHT_HASH_LENGTH} hex digits for the gan backend`,
        hash,
      );
    }
  } else if (header.modelId !== undefined || header.weightHash !== undefined) {
    throw invalidParameter("modelId", "no model id or weight hash for the diffusion backend", header.modelId);
  }
}

export class ByteWriter {
  private buf = new Uint8Array(64);
  length = 0;
  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }
  varint(v: number): void {
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      this.u8(v > 0 ? low | 0x80 : low);
    } while (v > 0);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u32be(v: number): void {
    this.u8(v >>> 24);
    this.u8(v >>> 16);
    this.u8(v >>> 8);
    this.u8(v);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export class ByteReader {
  pos: number;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }
  u8(what: string): number {
    if (this.pos >= this.end) throw corruptStream(`truncated while reading the ${what}`);
    return this.bytes[this.pos++];
  }
  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (i > 0 && b === 0) throw corruptStream(`the ${what} is not in its shortest form`);
        if (value > 0xffffffff) throw corruptStream(`the ${what} is out of range`);
        return value;
      }
      scale *= 128;
    }
    throw corruptStream(`the ${what} is longer than 5 bytes`);
  }
  take(n: number, what: string): Uint8Array {
    if (n > this.end - this.pos) throw corruptStream(`truncated while reading the ${what}`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

// ------------------------------------------------------------------------------------- values <-> levels

/**
 * The level indices stored for each known pixel (count * channels, pixel-major, raster order): the values
 * at the mask, colour-transformed if the header says so, then quantised.
 */
function quantiseIndices(header: StreamHeader, mask: Mask, values: Image, count: number): Uint8Array {
  const channels = header.channels;
  const levels = channelLevels(header.quantiser, header.colour, channels);
  const q = new Uint8Array(count * channels);
  const ycbcr = header.colour === "ycbcr";
  let j = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    const at = i * channels;
    if (ycbcr) {
      const [y, cb, cr] = rgbToYcbcrPixel(values.data[at], values.data[at + 1], values.data[at + 2]);
      q[j] = quantise(y, levels[0]);
      q[j + 1] = quantise(cb, levels[1]);
      q[j + 2] = quantise(cr, levels[2]);
    } else {
      for (let c = 0; c < channels; c++) q[j + c] = quantise(values.data[at + c], levels[c]);
    }
    j += channels;
  }
  return q;
}

/** The known image the decoder sees: dequantised (and back-transformed) values at the mask, 0 elsewhere. */
function knownFromIndices(header: StreamHeader, mask: Mask, q: Uint8Array): Image {
  const channels = header.channels;
  const levels = channelLevels(header.quantiser, header.colour, channels);
  const known = createImage(header.width, header.height, channels);
  const ycbcr = header.colour === "ycbcr";
  let j = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    const at = i * channels;
    if (ycbcr) {
      const y = dequantise(q[j], levels[0]);
      ycbcrToRgbInto(y, dequantise(q[j + 1], levels[1]), dequantise(q[j + 2], levels[2]), known.data, at);
    } else {
      for (let c = 0; c < channels; c++) known.data[at + c] = dequantise(q[j + c], levels[c]);
    }
    j += channels;
  }
  return known;
}

function checkContent(header: StreamHeader, mask: Mask, values: Image): number {
  checkHeader(header);
  if (
    mask.width !== header.width ||
    mask.height !== header.height ||
    mask.data.length !== mask.width * mask.height
  ) {
    throw invalidParameter("mask", `a ${header.width}×${header.height} mask`, `${mask.width}×${mask.height}`);
  }
  if (
    values.width !== header.width ||
    values.height !== header.height ||
    values.channels !== header.channels
  ) {
    throw invalidParameter(
      "values",
      `a ${header.width}×${header.height} image with ${header.channels} channel(s)`,
      `${values.width}×${values.height}×${values.channels}`,
    );
  }
  let count = 0;
  const channels = header.channels;
  for (let i = 0; i < mask.data.length; i++) {
    const m = mask.data[i];
    if (m === 0) continue;
    if (m !== 1) throw invalidParameter("mask", "entries 0 or 1", m);
    count++;
    for (let c = 0; c < channels; c++) {
      const v = values.data[i * channels + c];
      if (!Number.isFinite(v)) throw invalidParameter("values", "finite numbers at the known pixels", v);
    }
  }
  if (count === 0) throw invalidParameter("mask", "at least one known pixel", 0);
  return count;
}

/**
 * Exactly the known values decoding will produce for this header, mask and values (the encoder uses it to
 * measure quality without decoding). Off the mask: 0.
 */
export function quantiseValues(header: StreamHeader, mask: Mask, values: Image): Image {
  const count = checkContent(header, mask, values);
  return knownFromIndices(header, mask, quantiseIndices(header, mask, values, count));
}

// ----------------------------------------------------------------------------------------------- write

export function writeStream(content: StreamContent): { bytes: Uint8Array; sizes: StreamSizes } {
  const { header, mask, values } = content;
  const count = checkContent(header, mask, values);
  const w = new ByteWriter();
  for (const b of MAGIC) w.u8(b);
  w.u8(header.version);
  w.varint(header.width);
  w.varint(header.height);
  w.u8(header.channels);
  w.u8(COLOURS.indexOf(header.colour));
  w.u8(BACKENDS.indexOf(header.backend));
  w.u8(header.quantiser.lumaLevels - 1);
  w.u8(header.quantiser.chromaLevels - 1);
  if (header.backend === "gan") {
    const id = new TextEncoder().encode(header.modelId);
    w.u8(id.length);
    w.bytes(id);
    const hash = new TextEncoder().encode(header.weightHash);
    w.u8(hash.length);
    w.bytes(hash);
  }
  w.varint(count);
  const headerSize = w.length;

  const maskBytes = encodeMask(mask, count);
  const q = quantiseIndices(header, mask, values, count);
  const levels = channelLevels(header.quantiser, header.colour, header.channels);
  const io = new EncodingBitCoder(Math.max(64, count));
  const model = valueModelFor(header.colour, header.channels);
  codeValues(mask.data, header.width, header.height, count, header.channels, levels, q, io, model);
  const valueBytes = io.encoder.finish();

  const before = w.length;
  w.varint(maskBytes.length);
  const framing = w.length - before;
  w.bytes(maskBytes);
  w.bytes(valueBytes);
  w.u32be(crc32(w.view()));
  const bytes = w.result();
  return {
    bytes,
    sizes: {
      total: bytes.length,
      header: headerSize,
      mask: maskBytes.length,
      values: valueBytes.length,
      other: framing + 4,
    },
  };
}

// ----------------------------------------------------------------------------------------------- parse

/** Where the parts of a stream lie, after every header check has passed. Allocates nothing sized by it. */
export interface StreamLayout {
  header: StreamHeader;
  count: number;
  headerSize: number;
  maskStart: number;
  maskEnd: number;
  valuesEnd: number;
}

/**
 * Checks a stream's trailing CRC-32 (every version ends with one) and returns where the body before it ends.
 */
export function checkedEnd(bytes: Uint8Array): number {
  const end = bytes.length - 4;
  const stored = ((bytes[end] << 24) | (bytes[end + 1] << 16) | (bytes[end + 2] << 8) | bytes[end + 3]) >>> 0;
  if (crc32(bytes, 0, end) !== stored) {
    throw corruptStream("checksum mismatch: the file is truncated or corrupt");
  }
  return end;
}

/** Reads the image size that follows the version byte in every version, checked against MAX_SIDE. */
export function readImageSize(r: ByteReader): { width: number; height: number } {
  const width = r.varint("width");
  const height = r.varint("height");
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    throw corruptStream(`invalid image size ${width}×${height}`);
  }
  return { width, height };
}

/** Reads and validates the header and section bounds (and the CRC) without decoding the sections. */
export function parseLayout(bytes: Uint8Array, options: ParseOptions = {}): StreamLayout {
  if (!(bytes instanceof Uint8Array)) throw invalidParameter("bytes", "a Uint8Array", bytes);
  if (options.maxPixels !== undefined && !(Number.isInteger(options.maxPixels) && options.maxPixels >= 1)) {
    throw invalidParameter("maxPixels", "a positive integer", options.maxPixels);
  }
  const maxPixels = Math.min(MAX_PIXELS, options.maxPixels ?? MAX_PIXELS);
  if (bytes.length >= 3 && (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2])) {
    throw corruptStream('not a .mgc file (it does not start with "MGC")');
  }
  if (bytes.length < MIN_STREAM) throw corruptStream(`truncated: ${bytes.length} bytes is too short`);
  const version = bytes[3];
  if (LOWRATE_VERSIONS.includes(version)) {
    // decodeBytes and info dispatch these to src/lowrate first; only a direct call gets here
    throw corruptStream(`a tree-mode stream (version ${version}), which parseLowrate reads`);
  }
  if (!LAYOUT_VERSIONS.includes(version)) {
    throw corruptStream(`unknown format version ${version} (this build reads versions ${READABLE_VERSIONS})`);
  }
  const end = checkedEnd(bytes);
  const r = new ByteReader(bytes, 4, end);
  const { width, height } = readImageSize(r);
  if (width * height > MAX_PIXELS) {
    throw corruptStream(`image size ${width}×${height} is over the limit of ${MAX_PIXELS} pixels`);
  }
  if (width * height > maxPixels) {
    // a valid stream, only larger than this caller affords: refused before anything is allocated
    throw new MaskcodecError(
      `The stream's image is ${width}×${height} (${width * height} pixels), over the limit of ${maxPixels} pixels`,
      "ERR_INPUT_SIZE",
    );
  }
  const channels = r.u8("channel count");
  if (channels !== 1 && channels !== 3) throw corruptStream(`invalid channel count ${channels}`);
  const colourCode = r.u8("colour transform");
  if (colourCode >= COLOURS.length) throw corruptStream(`unknown colour transform ${colourCode}`);
  const colour = COLOURS[colourCode];
  if (colour === "ycbcr" && channels !== 3) throw corruptStream("YCbCr declared for a grey image");
  const backendCode = r.u8("backend");
  if (backendCode >= BACKENDS.length) throw corruptStream(`unknown backend ${backendCode}`);
  const backend = BACKENDS[backendCode];
  const lumaLevels = r.u8("luma levels") + 1;
  const chromaLevels = r.u8("chroma levels") + 1;
  if (lumaLevels < MIN_LEVELS || chromaLevels < MIN_LEVELS)
    throw corruptStream("quantiser with fewer than 2 levels");
  const header: StreamHeader = {
    version,
    width,
    height,
    channels: channels as Channels,
    colour,
    backend,
    quantiser: { lumaLevels, chromaLevels },
  };
  if (backend === "gan") {
    const idLength = r.u8("model id length");
    if (idLength === 0) throw corruptStream("empty model id");
    let modelId: string;
    try {
      modelId = new TextDecoder("utf-8", { fatal: true }).decode(r.take(idLength, "model id"));
    } catch (error) {
      if (error instanceof TypeError) throw corruptStream("model id is not valid UTF-8");
      throw error;
    }
    if (!isPrintable(modelId)) throw corruptStream("model id holds control characters");
    const hashLength = r.u8("weight hash length");
    if (hashLength < MIN_WEIGHT_HASH_LENGTH || hashLength > MAX_WEIGHT_HASH_LENGTH) {
      throw corruptStream(
        `weight hash of ${hashLength} hex digits (a gan stream carries ${MIN_WEIGHT_HASH_LENGTH} to ${MAX_WEIGHT_HASH_LENGTH})`,
      );
    }
    const hashBytes = r.take(hashLength, "weight hash");
    let weightHash = "";
    for (const b of hashBytes) {
      const isHex = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
      if (!isHex) throw corruptStream("weight hash is not hexadecimal");
      weightHash += String.fromCharCode(b);
    }
    header.modelId = modelId;
    header.weightHash = weightHash;
  }
  const count = r.varint("known-pixel count");
  if (count < 1 || count > width * height) {
    throw corruptStream(`known-pixel count ${count} is impossible for ${width}×${height} pixels`);
  }
  const headerSize = r.pos;
  const maskLength = r.varint("mask section length");
  const maskStart = r.pos;
  if (maskLength > end - maskStart) throw corruptStream("mask section runs past the end of the stream");
  return { header, count, headerSize, maskStart, maskEnd: maskStart + maskLength, valuesEnd: end };
}

/** The mask and values sections with the TypeScript coders (decodeSectionsWasm's reference). */
export function decodeSections(
  bytes: Uint8Array,
  maskStart: number,
  maskEnd: number,
  valuesEnd: number,
  width: number,
  height: number,
  count: number,
  levels: readonly number[],
  model: ValueModelOptions,
): DecodedSections {
  const mask = decodeMask(bytes, maskStart, maskEnd, width, height, count);
  const q = new Uint8Array(count * levels.length);
  const io = new DecodingBitCoder(bytes, maskEnd, valuesEnd, "values section");
  codeValues(mask.data, width, height, count, levels.length, levels, q, io, model);
  io.decoder.finish();
  return { mask, q };
}

/** Parses and decodes a whole stream. Every failure is a MaskcodecError (ERR_CORRUPT_STREAM). */
export function parseStream(bytes: Uint8Array, options: ParseOptions = {}): DecodedStream {
  const layout = parseLayout(bytes, options);
  const { header, count } = layout;
  const { width, height } = header;
  const levels = channelLevels(header.quantiser, header.colour, header.channels);
  const model = valueModelFor(header.colour, header.channels);
  const { maskStart, maskEnd, valuesEnd } = layout;
  const { mask, q } =
    decodeSectionsWasm(bytes, maskStart, maskEnd, valuesEnd, width, height, count, levels, model) ??
    decodeSections(bytes, maskStart, maskEnd, valuesEnd, width, height, count, levels, model);
  const known = knownFromIndices(header, mask, q);
  const maskSize = layout.maskEnd - layout.maskStart;
  const valuesSize = layout.valuesEnd - layout.maskEnd;
  return {
    header,
    mask,
    known,
    sizes: {
      total: bytes.length,
      header: layout.headerSize,
      mask: maskSize,
      values: valuesSize,
      other: layout.maskStart - layout.headerSize + 4,
    },
  };
}
