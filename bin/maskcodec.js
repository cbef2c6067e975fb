#!/usr/bin/env node
// Thin entry: registers the TypeScript loader (so the package runs from source, no build step) and hands
// argv to src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
