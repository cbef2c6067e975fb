import type { Command } from "commander";
import { invalidParameter, MaskcodecError } from "../errors.ts";

interface FindCloseFlags {
  mgc: string;
  codec: string;
  by: string;
  output?: string;
  model?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("find-close")
    .description(
      "find the quality setting of jpeg/webp/avif whose file size (or PSNR) is closest to a .mgc file's, " +
        "for side-by-side comparison",
    )
    .argument("<image>", "the original image the .mgc file was encoded from")
    .requiredOption("--mgc <file>", "the mask-codec file to match")
    .requiredOption("--codec <name>", "reference codec: jpeg, webp or avif")
    .option("--by <what>", "match the file size or the PSNR: size or psnr", "size")
    .option("-o, --output <file>", "also write the reference codec's file at the chosen setting")
    .option("--model <dir>", "gan model folder for decoding the .mgc (default: from its header)")
    .option("-f, --force", "overwrite an existing output file")
    .option("--json", "print one JSON object")
    .action(async (image: string, flags: FindCloseFlags) => {
      await runFindClose(image, flags);
    });
}

async function runFindClose(imagePath: string, flags: FindCloseFlags): Promise<void> {
  const { existsSync } = await import("node:fs");
  const { readFile } = await import("node:fs/promises");
  const { isReferenceCodec } = await import("../eval/codecs.ts");
  const { findClose } = await import("../eval/findclose.ts");
  const { readImage } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { decodeBytes } = await import("../codec/codec.ts");
  const { inpainterFor } = await import("../backends.ts");
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");

  if (!isReferenceCodec(flags.codec)) throw invalidParameter("codec", "one of jpeg, webp, avif", flags.codec);
  if (flags.by !== "size" && flags.by !== "psnr") throw invalidParameter("by", "size or psnr", flags.by);
  if (!existsSync(flags.mgc)) throw new MaskcodecError(`No such file: ${flags.mgc}`, "ERR_INPUT_MISSING");
  if (flags.output) checkOutputPath(flags.output, { force: flags.force, inputs: [imagePath, flags.mgc] });

  const image = await readImage(imagePath);
  const mgcBytes = new Uint8Array(await readFile(flags.mgc));
  const decoded = await decodeBytes(mgcBytes, (header) => inpainterFor(header, flags.model));
  if (decoded.image.width !== image.width || decoded.image.height !== image.height) {
    throw new MaskcodecError(
      `${flags.mgc} is ${decoded.image.width}×${decoded.image.height} but ${imagePath} is ` +
        `${image.width}×${image.height}: give the image it was encoded from`,
      "ERR_INVALID_PARAMETER",
    );
  }
  const pixels = image.width * image.height;
  const mgc = {
    bytes: mgcBytes.length,
    bpp: (mgcBytes.length * 8) / pixels,
    ...quality(image, decoded.image),
  };
  const target = flags.by === "size" ? mgc.bytes : mgc.psnr;
  const close = await findClose(image, flags.codec, flags.by, target);
  if (flags.output) await writeFileAtomic(flags.output, close.run.bytes, { overwrite: flags.force });

  if (flags.json) {
    const { run: _run, ...reference } = close;
    const result = {
      image: imagePath,
      by: flags.by,
      mgc: { file: flags.mgc, backend: decoded.header.backend, ...mgc },
      reference: { ...reference, output: flags.output },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const line = (name: string, r: { bytes: number; bpp: number; psnr: number; ssim: number }) =>
    `${name.padEnd(16)} ${String(r.bytes).padStart(8)} bytes  ${r.bpp.toFixed(4)} bpp  ` +
    `PSNR ${r.psnr.toFixed(2)} dB  SSIM ${r.ssim.toFixed(4)}\n`;
  process.stdout.write(line(`${decoded.header.backend} (.mgc)`, mgc));
  process.stdout.write(line(`${flags.codec} q${close.quality}`, close));
  process.stdout.write(
    `closest ${flags.codec} quality by ${flags.by}: ${close.quality}` +
      `${flags.output ? `, written to ${flags.output}` : ""}\n`,
  );
}
