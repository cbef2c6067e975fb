import { createHash } from "node:crypto";
import type { CodecConfig, ConfigValue } from "./codecs.ts";

/**
 * The result format: one record per (image, codec, configuration). rd.json is an array of these, rd.csv
 * the same rows; plots and tables are computed from records alone, so a sweep is run once and looked at
 * many ways (`maskcodec rd --from DIR/rd.json`).
 */
export interface RdRecord {
  codec: string;
  /** The curve this point belongs to: codec plus every setting except the swept one. */
  curve: string;
  config: CodecConfig;
  /** The image's path as given on the command line (or found in a folder). */
  image: string;
  /** SHA-256 of the image file's bytes. */
  image_hash: string;
  width: number;
  height: number;
  channels: number;
  /** Size of the complete encoded file. */
  bytes: number;
  /** bytes × 8 / (width × height). */
  bpp: number;
  psnr: number;
  ssim: number;
  mae: number;
  encode_s: number;
  decode_s: number;
  details?: Record<string, ConfigValue>;
}

/** Bump when the meaning of a cached record changes, so old caches are not reused. */
export const RECORD_VERSION = 1;

/** Configuration as a stable string: keys sorted, "key=value" joined by ";". */
export function configString(config: CodecConfig): string {
  return Object.keys(config)
    .sort()
    .map((k) => `${k}=${config[k]}`)
    .join(";");
}

/** Curve label: codec and every setting except the swept one, e.g. "diffusion random L32 tonal". */
export function curveLabel(codec: string, config: CodecConfig, sweepKey: string): string {
  const parts = [codec];
  const rank = (key: string) => (key === "mask" ? 0 : key === "levels" ? 1 : 2);
  const keys = Object.keys(config).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const key of keys) {
    if (key === sweepKey || key === "seed") continue;
    const value = config[key];
    if (key === "mask") {
      if (value !== codec) parts.push(String(value)); // "gan", not "gan gan"
    } else if (key === "levels") parts.push(`L${value}`);
    else if (value === true) parts.push(key);
    else if (value === false) continue;
    else parts.push(`${key}=${value}`);
  }
  return parts.join(" ");
}

/** Cache key of one point: image content, codec, its version, and the configuration. */
export function cacheKey(
  imageHash: string,
  codec: string,
  codecVersion: string,
  config: CodecConfig,
): string {
  return createHash("sha256")
    .update(JSON.stringify([RECORD_VERSION, imageHash, codec, codecVersion, configString(config)]))
    .digest("hex")
    .slice(0, 32);
}

export const CSV_COLUMNS = [
  "codec",
  "curve",
  "config",
  "image",
  "image_hash",
  "width",
  "height",
  "channels",
  "bytes",
  "bpp",
  "psnr",
  "ssim",
  "mae",
  "encode_s",
  "decode_s",
  "details",
] as const;

function csvField(value: unknown): string {
  const s = value === undefined ? "" : String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The records as CSV: one header line, one row each; config and details as "key=value;..." strings. */
export function toCsv(records: readonly RdRecord[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of records) {
    const row = CSV_COLUMNS.map((column) => {
      if (column === "config") return csvField(configString(r.config));
      if (column === "details") return csvField(r.details ? configString(r.details) : "");
      return csvField(r[column]);
    });
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}
