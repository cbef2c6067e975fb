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
 * One entry per subcommand file, by the name it registers. Each file registers its options and imports heavy
 * modules (tfjs, sharp) lazily inside its action, so that `maskcodec info` stays fast.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  encode: () => import("./encode.ts"),
  decode: () => import("./decode.ts"),
  info: () => import("./info.ts"),
  models: () => import("./models.ts"),
  train: () => import("./train.ts"),
  rd: () => import("./rd.ts"),
  compare: () => import("./compare.ts"),
  "find-close": () => import("./find-close.ts"),
};

/**
 * The subcommand files a command line needs: only the named command's when argv names one (loading all of
 * them, and what they import, is a noticeable part of a short decode), else all (help, version, and
 * commander's errors for an unknown command, which suggest the closest name).
 */
function commandsFor(argv: string[]): Array<() => Promise<CommandModule>> {
  const name = argv[2];
  return Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]] : Object.values(COMMANDS);
}

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
  for (const load of commandsFor(argv)) (await load()).register(program);
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
