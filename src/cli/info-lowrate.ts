/** `info` for a tree-mode (version 2 or 4) stream: header fields, the two trees' points, sizes. */
export async function printLowrateInfo(input: string, bytes: Uint8Array, json: boolean): Promise<void> {
  const { parseLowrate } = await import("../lowrate/stream.ts");
  const parsed = parseLowrate(bytes);
  const pixels = parsed.width * parsed.height;
  const group = (g: typeof parsed.luma) => ({ root_size: g.rootSize, levels: g.levels, points: g.count });
  const info = {
    version: parsed.version,
    width: parsed.width,
    height: parsed.height,
    channels: parsed.channels,
    backend: "diffusion",
    mask: "tree",
    luma: group(parsed.luma),
    chroma: parsed.chroma ? group(parsed.chroma) : undefined,
    bytes: bytes.length,
    bpp: (bytes.length * 8) / pixels,
    density: parsed.luma.count / pixels,
    sizes: parsed.sizes,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  const c = parsed.chroma;
  const lines = [
    `file        ${input}`,
    `format      .mgc version ${parsed.version} (tree mode)`,
    `size        ${parsed.width}×${parsed.height}, ${parsed.channels} channel${parsed.channels > 1 ? "s" : ""}`,
    `backend     diffusion, one plane at a time${c ? " (Y, Cb, Cr)" : ""}`,
    `luma        ${parsed.luma.count} points (root cells ${parsed.luma.rootSize} px), ${parsed.luma.levels} levels`,
    ...(c ? [`chroma      ${c.count} points (root cells ${c.rootSize} px), ${c.levels} levels`] : []),
    `bytes       ${bytes.length} (${info.bpp.toFixed(4)} bpp): header ${parsed.sizes.header}, trees and values ${parsed.sizes.payload}, CRC 4`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
