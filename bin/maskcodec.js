#!/usr/bin/env node
// Thin entry: runs the compiled CLI (dist/, built by `npm ci`, `npm run build` or `npm pack`) and hands it argv.
// MASKCODEC_SOURCE=1 runs the TypeScript sources through tsx instead (tests, development; needs the dev
// dependencies).
import { existsSync } from "node:fs";

const source = process.env.MASKCODEC_SOURCE === "1";
const entry = new URL(source ? "../src/cli/main.ts" : "../dist/cli/main.js", import.meta.url);
if (source) {
  const { register } = await import("tsx/esm/api");
  register();
} else if (!existsSync(entry)) {
  process.stderr.write("maskcodec: the package is not built; run `npm run build` (or `npm ci`) first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
