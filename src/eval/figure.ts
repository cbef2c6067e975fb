import type { Image, Mask } from "../image/types.ts";

/**
 * Side-by-side comparison figures like the paper's Figures 2 and 3: the original, each reconstruction
 * labelled with its codec, rate and PSNR, and the masks (known pixels in black on white). Composed with
 * sharp; labels are SVG text overlays (rendered by librsvg, no canvas needed).
 */

export interface Panel {
  image: Image;
  /** One or two lines under the panel. */
  label: string[];
}

/** A mask as an image: known pixels black, the rest white (as in the paper's figures). */
export function maskImage(mask: Mask): Image {
  const data = new Float32Array(mask.width * mask.height);
  for (let i = 0; i < data.length; i++) data[i] = mask.data[i] ? 0 : 255;
  return { width: mask.width, height: mask.height, channels: 1, data };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FONT_SIZE = 15;
const LINE = 20;
const GAP = 12;

/** Composes the panels into one PNG, `columns` per row. */
export async function composeFigure(panels: readonly Panel[], columns = 3): Promise<Buffer> {
  const sharp = (await import("sharp")).default;
  const { toSharp } = await import("../image/io.ts");
  const cellW = Math.max(...panels.map((p) => p.image.width));
  const cellH = Math.max(...panels.map((p) => p.image.height));
  const lines = Math.max(...panels.map((p) => p.label.length));
  const labelH = lines * LINE + 6;
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const width = cols * cellW + (cols + 1) * GAP;
  const height = rows * (cellH + labelH) + (rows + 1) * GAP;
  const layers: Array<{ input: Buffer; left: number; top: number }> = [];
  for (let i = 0; i < panels.length; i++) {
    const { image, label } = panels[i];
    const left = GAP + (i % cols) * (cellW + GAP);
    const top = GAP + Math.floor(i / cols) * (cellH + labelH + GAP);
    const rgb = image.channels === 3 ? toSharp(image) : toSharp(image).toColourspace("srgb");
    layers.push({ input: await rgb.png().toBuffer(), left, top });
    const text = label
      .map(
        (l, k) =>
          `<text x="${cellW / 2}" y="${(k + 1) * LINE}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" ` +
          `font-size="${FONT_SIZE}" fill="#111">${escapeXml(l)}</text>`,
      )
      .join("");
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${cellW}" height="${labelH}">${text}</svg>`;
    layers.push({ input: Buffer.from(svg), left, top: top + cellH });
  }
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(layers)
    .png()
    .toBuffer();
}
