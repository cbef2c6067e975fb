#!/usr/bin/env node
// `npm run bench -- NAME [args...]` runs bench/NAME.ts; without NAME it lists the benchmarks.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..", "bench");
const names = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args...]\nbenchmarks: ${names.join(", ")}`);
  process.exit(name ? 2 : 0);
}
const module = await import(pathToFileURL(join(benchDir, `${name}.ts`)).href);
await module.run(rest);
