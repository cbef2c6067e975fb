import type { RdRecord } from "./records.ts";
import { type Metric, plotData } from "./summary.ts";

/**
 * Rate–distortion plots with vega-lite: compile the spec, render to SVG with a headless vega View (no
 * canvas needed), then let sharp (librsvg) rasterise the SVG to PNG.
 */

const TITLES: Record<Metric, string> = { psnr: "PSNR (dB)", ssim: "SSIM" };

export function rdSpec(records: readonly RdRecord[], metric: Metric, title?: string): object {
  const images = new Set(records.map((r) => r.image_hash)).size;
  const values = plotData(records, metric);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title ?? `Rate–distortion: ${metric.toUpperCase()}`,
      subtitle: [
        `lines: mean over ${images} image${images === 1 ? "" : "s"} at matched bpp, drawn where every image reaches the rate;`,
        "markers: mean bpp and mean quality of each setting",
      ],
    },
    width: 640,
    height: 420,
    background: "white",
    data: { values },
    encoding: {
      x: {
        field: "bpp",
        type: "quantitative",
        scale: { type: "log" },
        title: "rate (bits per pixel)",
      },
      y: { field: "value", type: "quantitative", scale: { zero: false }, title: TITLES[metric] },
      color: { field: "curve", type: "nominal", title: "codec" },
    },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'mean at matched bpp'" }],
        mark: { type: "line", strokeWidth: 2 },
        encoding: { order: { field: "bpp", type: "quantitative" } },
      },
      {
        transform: [{ filter: "datum.kind === 'mean per setting'" }],
        mark: { type: "point", filled: false, size: 40, opacity: 1, strokeWidth: 1.5 },
        encoding: { shape: { field: "curve", type: "nominal", title: "codec" } },
      },
    ],
  };
}

/** The plot as SVG text. */
export async function renderSvg(spec: object): Promise<string> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  // biome-ignore lint/suspicious/noExplicitAny: vega-lite's TopLevelSpec type is too strict for a built object
  const compiled = vl.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text → PNG at `scale` × the SVG's size. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const sharp = (await import("sharp")).default;
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png()
    .toBuffer();
}
