/**
 * The package's entry point (`import { encode, decode } from "maskcodec"`): the codec's API, image I/O and
 * metrics, the model registry, and the rate–distortion toolkit's entry points.
 */

export {
  type BackendId,
  type ColourTransform,
  type DecodeOptions,
  decode,
  ENCODE_DEFAULTS,
  type Encoded,
  type EncodeOptions,
  encode,
  encodeToRate,
  MASKS,
  type MaskSelectorName,
  type QuantiserParams,
  type RateEncoded,
  type RateOptions,
  type ResolvedEncodeOptions,
  resolveEncodeOptions,
} from "./api.ts";
export type { DecodeResult } from "./codec/codec.ts";
export type { StreamHeader, StreamSizes } from "./codec/types.ts";
export { MaskcodecError } from "./errors.ts";
export { loadRecords, type RdOptions, type RdOutcome, runRd, writeOutputs } from "./eval/rd.ts";
export type { RdRecord } from "./eval/records.ts";
export { type Summary, summarise, summaryTable } from "./eval/summary.ts";
export { centreCrop, encodePng, readImage, writePng } from "./image/io.ts";
export { mae, psnr, type QualityFigures, quality, ssim } from "./image/metrics.ts";
export type { InpaintOptions } from "./image/seams.ts";
export { createImage, createMask, type Image, type Mask, maskDensity } from "./image/types.ts";
export { MODELS_DIR, type RegisteredModel, readRegistry as models } from "./nets/registry.ts";
