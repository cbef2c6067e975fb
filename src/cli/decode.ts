import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { MAX_PIXELS, MAX_THREADS } from "../codec/limits.ts";
import { MaskcodecError } from "../errors.ts";
import { defaultThreads, integerParser, replaceExtension, secondsSince, THREADS_HELP } from "./options.ts";

interface DecodeFlags {
  output?: string;
  model?: string;
  force?: boolean;
  json?: boolean;
  maxPixels?: number;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("decode")
    .description("reconstruct an image from a .mgc file with the inpainting backend its header names")
    .argument("<input>", ".mgc file")
    .option("-o, --output <file>", "output PNG (default: input with .png)")
    .option("--model <dir>", "gan model folder (default: the registered model the header names)")
    .option("-f, --force", "overwrite an existing output file")
    .option("--json", "print one JSON object with the figures")
    .option(
      "--max-pixels <n>",
      `refuse a stream whose image has more pixels than this, before allocating it (default and most: ${MAX_PIXELS})`,
      integerParser("max-pixels", 1, MAX_PIXELS),
    )
    .option("--threads <n>", THREADS_HELP, integerParser("threads", 1, MAX_THREADS))
    .action(async (input: string, flags: DecodeFlags) => {
      await runDecode(input, flags);
    });
}

async function runDecode(input: string, flags: DecodeFlags): Promise<void> {
  const { existsSync } = await import("node:fs");
  const { checkOutputPath } = await import("../util/files.ts");
  const { decode } = await import("../api.ts");
  const { writePng } = await import("../image/png.ts");
  const { maskDensity } = await import("../image/types.ts");

  if (!existsSync(input)) throw new MaskcodecError(`No such file: ${input}`, "ERR_INPUT_MISSING");
  const output = flags.output ?? replaceExtension(input, ".png");
  checkOutputPath(output, { force: flags.force, inputs: [input] });

  const start = performance.now();
  const bytes = new Uint8Array(await readFile(input));
  const decoded = await decode(bytes, {
    model: flags.model,
    maxPixels: flags.maxPixels,
    threads: flags.threads ?? defaultThreads(),
  });
  await writePng(decoded.image, output, { overwrite: flags.force });
  const seconds = secondsSince(start);
  const { header } = decoded;
  const pixels = header.width * header.height;
  if (flags.json) {
    const result = {
      input,
      output,
      bytes: bytes.length,
      bpp: (bytes.length * 8) / pixels,
      width: header.width,
      height: header.height,
      channels: header.channels,
      density: maskDensity(decoded.mask),
      backend: header.backend,
      model: header.modelId,
      seconds,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(
      `${output}: ${header.width}×${header.height}, ${header.backend}, ${seconds.toFixed(2)} s\n`,
    );
  }
}
