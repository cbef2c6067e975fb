import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { MaskcodecError } from "../errors.ts";

export function register(program: Command): void {
  program
    .command("info")
    .description("print the header of a .mgc file and the sizes of its sections")
    .argument("<input>", ".mgc file")
    .option("--json", "print one JSON object")
    .action(async (input: string, flags: { json?: boolean }) => {
      const { existsSync } = await import("node:fs");
      const { parseStream } = await import("../codec/stream.ts");
      const { maskCount } = await import("../image/types.ts");
      if (!existsSync(input)) throw new MaskcodecError(`No such file: ${input}`, "ERR_INPUT_MISSING");
      const bytes = new Uint8Array(await readFile(input));
      const { isLowrateStream } = await import("../lowrate/stream.ts");
      if (isLowrateStream(bytes)) {
        const { printLowrateInfo } = await import("./info-lowrate.ts");
        return printLowrateInfo(input, bytes, Boolean(flags.json));
      }
      const { header, mask, sizes } = parseStream(bytes);
      const pixels = header.width * header.height;
      const known = maskCount(mask);
      const info = {
        ...header,
        bytes: bytes.length,
        bpp: (bytes.length * 8) / pixels,
        known_pixels: known,
        density: known / pixels,
        sizes,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const q = header.quantiser;
      const lines = [
        `file        ${input}`,
        `format      .mgc version ${header.version}`,
        `size        ${header.width}×${header.height}, ${header.channels} channel${header.channels > 1 ? "s" : ""}`,
        `backend     ${header.backend}${header.modelId ? ` (model ${header.modelId}, weights ${header.weightHash})` : ""}`,
        `colour      ${header.colour}`,
        `quantiser   ${q.lumaLevels} levels${header.colour === "ycbcr" ? ` luma, ${q.chromaLevels} chroma` : ""}`,
        `mask        ${known} known pixels, density ${(known / pixels).toFixed(5)}`,
        `bytes       ${bytes.length} (${info.bpp.toFixed(4)} bpp): header ${sizes.header}, mask ${sizes.mask}, values ${sizes.values}, other ${sizes.other}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
