import { type BdMethod, bjontegaard, commonRange, logGrid, meanAtRates, type RdPoint } from "./curves.ts";
import type { RdRecord } from "./records.ts";

/**
 * From records to what a reader wants: per curve, the mean quality at a few fixed rates (matched-rate
 * interpolation of each image's curve) and the Bjøntegaard deltas against an anchor codec.
 */

export const SUMMARY_RATES = [0.1, 0.15, 0.25, 0.5, 1.0] as const;
export type Metric = "psnr" | "ssim";

export interface CurveSummary {
  curve: string;
  codec: string;
  images: number;
  points: number;
  /** Mean PSNR/SSIM at SUMMARY_RATES; null where not every image's curve reaches the rate. */
  psnr: Array<number | null>;
  ssim: Array<number | null>;
  /** Against the anchor, mean over the images where it is defined; null if none or this is the anchor. */
  bd: Record<BdMethod, { rate: number | null; psnr: number | null; images: number }>;
}

export interface Summary {
  anchor: string | null;
  rates: number[];
  curves: CurveSummary[];
}

/** records → curve → image → points, in first-seen order. */
export function groupCurves(records: readonly RdRecord[]): Map<string, Map<string, RdRecord[]>> {
  const curves = new Map<string, Map<string, RdRecord[]>>();
  for (const r of records) {
    let images = curves.get(r.curve);
    if (!images) curves.set(r.curve, (images = new Map()));
    const key = r.image_hash;
    let list = images.get(key);
    if (!list) images.set(key, (list = []));
    list.push(r);
  }
  return curves;
}

export function pointsOf(records: readonly RdRecord[], metric: Metric): RdPoint[] {
  return records.map((r) => ({ bpp: r.bpp, value: r[metric] }));
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Summarises every curve. The anchor is the curve named `anchor` (default "jpeg"); BD figures are
 * computed image by image (anchor and test on the same image) and averaged over the images where both
 * curves overlap.
 */
export function summarise(
  records: readonly RdRecord[],
  anchor = "jpeg",
  rates: readonly number[] = SUMMARY_RATES,
): Summary {
  const curves = groupCurves(records);
  const anchorCurve = curves.get(anchor);
  const out: CurveSummary[] = [];
  for (const [curve, images] of curves) {
    const lists = [...images.values()];
    const at = (metric: Metric) =>
      meanAtRates(
        lists.map((l) => pointsOf(l, metric)),
        rates,
      ).map((p) => p.value ?? null);
    const bd = {} as CurveSummary["bd"];
    for (const method of ["cubic", "pchip"] as BdMethod[]) {
      const rateDeltas: number[] = [];
      const psnrDeltas: number[] = [];
      if (anchorCurve && curve !== anchor) {
        for (const [hash, list] of images) {
          const anchorList = anchorCurve.get(hash);
          if (!anchorList) continue;
          const result = bjontegaard(pointsOf(anchorList, "psnr"), pointsOf(list, "psnr"), method);
          if (result.bdRate !== undefined && Number.isFinite(result.bdRate)) rateDeltas.push(result.bdRate);
          if (result.bdQuality !== undefined && Number.isFinite(result.bdQuality))
            psnrDeltas.push(result.bdQuality);
        }
      }
      bd[method] = {
        rate: mean(rateDeltas),
        psnr: mean(psnrDeltas),
        images: Math.min(rateDeltas.length, psnrDeltas.length),
      };
    }
    out.push({
      curve,
      codec: lists[0][0].codec,
      images: lists.length,
      points: lists.reduce((n, l) => n + l.length, 0),
      psnr: at("psnr"),
      ssim: at("ssim"),
      bd,
    });
  }
  return { anchor: anchorCurve ? anchor : null, rates: [...rates], curves: out };
}

function fixed(value: number | null, digits: number, signed = false): string {
  if (value === null) return "—";
  const s = value.toFixed(digits);
  return signed && value >= 0 ? `+${s}` : s;
}

/** What the table's cells mean; printed under it. */
export const SUMMARY_NOTE =
  "PSNR (dB) and SSIM: mean over images at matched bpp (each image's curve interpolated in log-bpp); " +
  "— = not every image reaches that rate. BD-rate/BD-PSNR: Bjøntegaard deltas against the anchor over the " +
  "common range, per image then averaged (cubic: least-squares cubic fit; pchip: piecewise cubic Hermite); " +
  "negative BD-rate = fewer bits for the same PSNR.";

/** The summary as a Markdown table (readable on a terminal as it is). */
export function summaryTable(summary: Summary): string {
  const rates = summary.rates.map((r) => `${r}`);
  const head = [
    "codec",
    "images",
    ...rates.map((r) => `PSNR@${r}`),
    ...rates.map((r) => `SSIM@${r}`),
    "BD-rate",
    "BD-PSNR",
    "BD-rate (pchip)",
    "BD-PSNR (pchip)",
  ];
  const rows = summary.curves.map((c) => {
    const isAnchor = c.curve === summary.anchor;
    const bdCell = (v: number | null, digits: number, unit: string) =>
      isAnchor ? "anchor" : v === null ? "—" : `${fixed(v, digits, true)}${unit}`;
    return [
      c.curve,
      String(c.images),
      ...c.psnr.map((v) => fixed(v, 2)),
      ...c.ssim.map((v) => fixed(v, 3)),
      bdCell(c.bd.cubic.rate, 1, " %"),
      bdCell(c.bd.cubic.psnr, 2, " dB"),
      bdCell(c.bd.pchip.rate, 1, " %"),
      bdCell(c.bd.pchip.psnr, 2, " dB"),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

export interface PlotPoint {
  curve: string;
  bpp: number;
  value: number;
  kind: "mean at matched bpp" | "mean per setting";
}

/**
 * The data of one plot: for each curve, the mean over images on a log-spaced rate grid spanning the
 * rates every image reaches (the line), plus the plain per-setting means of rate and quality (the
 * markers), which show where a codec goes beyond the range all images reach.
 */
export function plotData(records: readonly RdRecord[], metric: Metric, gridPoints = 48): PlotPoint[] {
  const out: PlotPoint[] = [];
  for (const [curve, images] of groupCurves(records)) {
    const lists = [...images.values()];
    const all = lists.flat();
    const bpps = all.map((r) => r.bpp).filter((b) => b > 0);
    // The grid spans all measured rates; the ends of the range every image reaches are added so the
    // lines run exactly to them.
    const grid = logGrid(Math.min(...bpps), Math.max(...bpps), gridPoints);
    const common = commonRange(lists.map((l) => pointsOf(l, metric)));
    if (common) grid.push(...common.filter((b) => !grid.includes(b)));
    grid.sort((a, b) => a - b);
    for (const p of meanAtRates(
      lists.map((l) => pointsOf(l, metric)),
      grid,
    )) {
      if (p.value !== undefined) out.push({ curve, bpp: p.bpp, value: p.value, kind: "mean at matched bpp" });
    }
    const settings = new Map<string, RdRecord[]>();
    for (const r of all) {
      const key = JSON.stringify(r.config);
      const list = settings.get(key) ?? [];
      list.push(r);
      settings.set(key, list);
    }
    for (const list of settings.values()) {
      const value = list.reduce((s, r) => s + r[metric], 0) / list.length;
      if (!Number.isFinite(value)) continue;
      const bpp = list.reduce((s, r) => s + r.bpp, 0) / list.length;
      out.push({ curve, bpp, value, kind: "mean per setting" });
    }
  }
  return out;
}
