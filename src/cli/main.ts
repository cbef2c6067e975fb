import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { MaskcodecError } from "../errors.ts";

function packageVersion(): string {
  const path = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

interface CommandModule {
  register(program: Command): void;
}

/**
 * One entry per subcommand file. Each file registers its options and imports heavy modules (tfjs, sharp)
 * lazily inside its action, so that `maskcodec info` stays fast.
 */
const COMMANDS: Array<() => Promise<CommandModule>> = [
  () => import("./encode.ts"),
  () => import("./decode.ts"),
  () => import("./info.ts"),
  () => import("./models.ts"),
  () => import("./train.ts"),
  () => import("./rd.ts"),
  () => import("./compare.ts"),
  () => import("./find-close.ts"),
];

/**
 * Exit codes: 0 success (and --help, --version); 2 a command line that cannot be parsed (an unknown command
 * or flag, a missing argument or required option, too many arguments: commander's errors); 1 any other user
 * mistake (a MaskcodecError: a bad value, a missing or corrupt file). Anything else is a bug and shows its
 * stack.
 */
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** Builds the program. Each subcommand lives in its own file and exports `register(program)`. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("maskcodec")
    .description("Inpainting-based image compression: keep a few well-chosen pixels, inpaint the rest.")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const load of COMMANDS) (await load()).register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its message (or help/version, which exit 0)
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof MaskcodecError) {
      process.stderr.write(`maskcodec: ${error.message}\n`);
      return EXIT_ERROR;
    }
    throw error;
  }
}
