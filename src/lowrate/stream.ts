/**
 * The low-rate stream (format version 2 of the .mgc container): known pixels on subdivision trees, one for
 * luma and one for chroma, values reconstructed by homogeneous diffusion per plane.
 *
 *   "MGC" | version u8 (= 2) | width varint | height varint | channels u8 |
 *   luma root size varint | luma levels-1 u8 | Y low u8 | Y high u8 |
 *   [colour: chroma root size varint | chroma levels-1 u8 | Cb low u8 | Cb high u8 | Cr low u8 | Cr high u8] |
 *   payload | CRC-32 u32 BE
 *
 * The payload is one range-coded section: the luma tree's split bits (depth-first pre-order, tree.ts; one
 * adaptive context per depth), the chroma tree's, then the quantised luma values at the luma tree's points
 * and the Cb, Cr values at the chroma tree's points, both with the value coder of version 1
 * (src/codec/valuecoder.ts). Each plane's levels are spread evenly over its own range [low, high] (the
 * stored values' extent) rather than over [0, 255]: chroma of a photo spans a fraction of the scale, so the
 * same number of levels gives several times finer steps. Version-1 streams are untouched by this module.
 */

import type { BitCoder } from "../codec/bitio.ts";
import { DecodingBitCoder, EncodingBitCoder } from "../codec/bitio.ts";
import { crc32 } from "../codec/crc32.ts";
import { MAX_PIXELS, MAX_SIDE } from "../codec/limits.ts";
import { MAX_LEVELS, MIN_LEVELS } from "../codec/quantiser.ts";
import { BinaryContexts } from "../codec/rangecoder.ts";
import {
  ByteReader,
  ByteWriter,
  checkedEnd,
  LOWRATE_VERSION,
  LOWRATE_VERSIONS,
  readImageSize,
} from "../codec/stream.ts";
import { codeValues, DEFAULT_VALUE_MODEL } from "../codec/valuecoder.ts";
import { corruptStream, invalidParameter } from "../errors.ts";
import type { Channels } from "../image/types.ts";
import { type Cell, cellKey, leavesMask, treeLayout, walkTree } from "./tree.ts";

export { LOWRATE_VERSION, LOWRATE_VERSIONS };

const MAGIC = [0x4d, 0x47, 0x43];
const DEPTH_CONTEXTS = 12;

/** One tree and its plane group: luma (one plane) or chroma (Cb, Cr). */
export interface PlaneGroup {
  /** Root cells are about this many pixels on a side (treeLayout). */
  rootSize: number;
  /** Keys (cellKey) of the split cells. */
  splits: Set<number>;
  /** Uniform quantiser levels over each plane's range. */
  levels: number;
  /** Per plane: the integer range [low, high] (0 <= low <= high <= 255) the levels span. */
  ranges: Array<[number, number]>;
  /** Level indices at the tree's points, raster order, planes interleaved per point. */
  indices: Uint8Array;
}

export interface LowrateContent {
  width: number;
  height: number;
  channels: Channels;
  luma: PlaneGroup;
  /** Absent for grey images. */
  chroma?: PlaneGroup;
}

/** A group as parsed: its mask (the tree's points) besides what was written. */
export interface ParsedGroup extends PlaneGroup {
  mask: Uint8Array;
  count: number;
}

export interface ParsedLowrate {
  width: number;
  height: number;
  channels: Channels;
  /** 2 or 4: how far the decoder's diffusion solves go (diffusionDecodeTolerance). */
  version: number;
  luma: ParsedGroup;
  chroma?: ParsedGroup;
  /** Bytes of header, payload and CRC. */
  sizes: { total: number; header: number; payload: number };
}

/** Codes (or decodes) one tree's split bits; returns its leaves. */
function codeTree(
  width: number,
  height: number,
  rootSize: number,
  splits: Set<number>,
  io: BitCoder,
  decoding: boolean,
): Cell[] {
  const ctx = new BinaryContexts(DEPTH_CONTEXTS, 1 << 12);
  return walkTree(treeLayout(width, height, rootSize), (cell) => {
    const key = cellKey(cell, width);
    const bit = io.bit(ctx, Math.min(cell.depth, DEPTH_CONTEXTS - 1), splits.has(key) ? 1 : 0);
    if (decoding && bit) splits.add(key);
    return bit === 1;
  });
}

function countOf(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

function checkGroup(name: string, g: PlaneGroup, planes: number, count: number): void {
  if (!Number.isInteger(g.rootSize) || g.rootSize < 1 || g.rootSize > MAX_SIDE) {
    throw invalidParameter(`${name} root size`, "a positive integer", g.rootSize);
  }
  if (!Number.isInteger(g.levels) || g.levels < MIN_LEVELS || g.levels > MAX_LEVELS) {
    throw invalidParameter(`${name} levels`, `an integer between ${MIN_LEVELS} and ${MAX_LEVELS}`, g.levels);
  }
  if (
    g.ranges.length !== planes ||
    !g.ranges.every(
      ([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && lo <= hi && hi <= 255,
    )
  ) {
    throw invalidParameter(`${name} ranges`, `${planes} integer ranges within [0, 255]`, g.ranges.length);
  }
  if (g.indices.length !== count * planes) {
    throw invalidParameter(`${name} values`, `${count * planes} level indices`, g.indices.length);
  }
  for (const v of g.indices)
    if (v >= g.levels) throw invalidParameter(`${name} values`, `indices below ${g.levels}`, v);
}

/** The mask of a group's tree (for the writer, which must code values at exactly these points). */
export function groupMask(width: number, height: number, rootSize: number, splits: Set<number>): Uint8Array {
  const layout = treeLayout(width, height, rootSize);
  const leaves = walkTree(layout, (cell) => splits.has(cellKey(cell, width)));
  return leavesMask(width, height, leaves).data;
}

export function writeLowrate(content: LowrateContent): Uint8Array {
  const { width, height, channels, luma, chroma } = content;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width * height > MAX_PIXELS
  ) {
    throw invalidParameter("image size", `at most ${MAX_PIXELS} pixels`, `${width}×${height}`);
  }
  if ((channels === 3) !== (chroma !== undefined)) {
    throw invalidParameter("chroma", "a chroma group exactly for colour images", channels);
  }
  const lumaMask = groupMask(width, height, luma.rootSize, luma.splits);
  const lumaCount = countOf(lumaMask);
  checkGroup("luma", luma, 1, lumaCount);
  let chromaMask: Uint8Array | undefined;
  let chromaCount = 0;
  if (chroma) {
    chromaMask = groupMask(width, height, chroma.rootSize, chroma.splits);
    chromaCount = countOf(chromaMask);
    checkGroup("chroma", chroma, 2, chromaCount);
  }
  const w = new ByteWriter();
  for (const b of MAGIC) w.u8(b);
  w.u8(LOWRATE_VERSION);
  w.varint(width);
  w.varint(height);
  w.u8(channels);
  w.varint(luma.rootSize);
  w.u8(luma.levels - 1);
  for (const range of luma.ranges) for (const v of range) w.u8(v);
  if (chroma) {
    w.varint(chroma.rootSize);
    w.u8(chroma.levels - 1);
    for (const range of chroma.ranges) for (const v of range) w.u8(v);
  }
  const io = new EncodingBitCoder(1024);
  codeTree(width, height, luma.rootSize, luma.splits, io, false);
  if (chroma) codeTree(width, height, chroma.rootSize, chroma.splits, io, false);
  codeValues(lumaMask, width, height, lumaCount, 1, [luma.levels], luma.indices, io, DEFAULT_VALUE_MODEL);
  if (chroma && chromaMask) {
    const levels = [chroma.levels, chroma.levels];
    codeValues(chromaMask, width, height, chromaCount, 2, levels, chroma.indices, io, DEFAULT_VALUE_MODEL);
  }
  w.bytes(io.encoder.finish());
  w.u32be(crc32(w.view()));
  return w.result();
}

/** Whether a stream is a low-rate one (version 2 or 4); the version-1 parser handles the rest. */
export function isLowrateStream(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === MAGIC[0] &&
    bytes[1] === MAGIC[1] &&
    bytes[2] === MAGIC[2] &&
    LOWRATE_VERSIONS.includes(bytes[3])
  );
}

export function parseLowrate(bytes: Uint8Array, options: { maxPixels?: number } = {}): ParsedLowrate {
  const maxPixels = Math.min(MAX_PIXELS, options.maxPixels ?? MAX_PIXELS);
  if (!isLowrateStream(bytes)) throw corruptStream("not a tree-mode (version 2 or 4) .mgc stream");
  if (bytes.length < 4 + 3 + 1 + 2 + 4) throw corruptStream(`truncated: ${bytes.length} bytes is too short`);
  const end = checkedEnd(bytes);
  const r = new ByteReader(bytes, 4, end);
  const { width, height } = readImageSize(r);
  if (width * height > maxPixels) {
    throw corruptStream(`image size ${width}×${height} is over the limit of ${maxPixels} pixels`);
  }
  const channels = r.u8("channel count");
  if (channels !== 1 && channels !== 3) throw corruptStream(`invalid channel count ${channels}`);
  const readGroup = (name: string, planes: number) => {
    const rootSize = r.varint(`${name} root size`);
    if (rootSize < 1 || rootSize > MAX_SIDE) throw corruptStream(`invalid ${name} root size ${rootSize}`);
    const levels = r.u8(`${name} levels`) + 1;
    if (levels < MIN_LEVELS) throw corruptStream(`${name} quantiser with fewer than 2 levels`);
    const ranges: Array<[number, number]> = [];
    for (let p = 0; p < planes; p++) {
      const lo = r.u8(`${name} range`);
      const hi = r.u8(`${name} range`);
      if (hi < lo) throw corruptStream(`${name} range ${lo}..${hi} is empty`);
      ranges.push([lo, hi]);
    }
    return { rootSize, levels, ranges };
  };
  const lumaHead = readGroup("luma", 1);
  const chromaHead = channels === 3 ? readGroup("chroma", 2) : undefined;
  const headerSize = r.pos;
  const io = new DecodingBitCoder(bytes, headerSize, end, "payload");
  const decodeGroup = (
    head: { rootSize: number; levels: number; ranges: Array<[number, number]> },
    planes: number,
  ): ParsedGroup => {
    const splits = new Set<number>();
    const leaves = codeTree(width, height, head.rootSize, splits, io, true);
    const mask = leavesMask(width, height, leaves).data;
    const count = countOf(mask);
    return { ...head, splits, mask, count, indices: new Uint8Array(count * planes) };
  };
  const luma = decodeGroup(lumaHead, 1);
  const chroma = chromaHead ? decodeGroup(chromaHead, 2) : undefined;
  codeValues(luma.mask, width, height, luma.count, 1, [luma.levels], luma.indices, io, DEFAULT_VALUE_MODEL);
  if (chroma) {
    const levels = [chroma.levels, chroma.levels];
    codeValues(chroma.mask, width, height, chroma.count, 2, levels, chroma.indices, io, DEFAULT_VALUE_MODEL);
  }
  io.decoder.finish();
  const result: ParsedLowrate = {
    width,
    height,
    version: bytes[3],
    channels: channels as Channels,
    luma,
    sizes: { total: bytes.length, header: headerSize, payload: end - headerSize },
  };
  if (chroma) result.chroma = chroma;
  return result;
}

/** Level index of v for `levels` levels spread over [lo, hi] (clamped). */
export function rangeQuantise(v: number, levels: number, lo: number, hi: number): number {
  if (hi <= lo) return 0;
  const t = Math.round(((v - lo) * (levels - 1)) / (hi - lo));
  return t < 0 ? 0 : Math.min(t, levels - 1);
}

/** The value of level `index` over [lo, hi]. */
export function rangeDequantise(index: number, levels: number, lo: number, hi: number): number {
  return lo + (index * (hi - lo)) / (levels - 1);
}
