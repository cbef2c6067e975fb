/**
 * Registers an exported model folder in models/registry.json (src/nets/registry.ts), or updates its entry:
 * its weight hash, trained density range, base shards and card figures are read from the folder. Only a
 * registered model is ever picked by the defaults or accepted by the decoder.
 *
 *   npx tsx torch/register.ts models/maskgan-NAME [--default-from D]
 *
 * --default-from D makes it the default from density D up to the next default (omit it for a model that only
 * decodes or serves as a base). Another default that started at D loses that role.
 */
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { REGISTRY_FILE, readRegistry, registryEntry } from "../src/nets/registry.ts";
import { writeFileAtomic } from "../src/util/files.ts";

const { values, positionals } = parseArgs({
  options: { "default-from": { type: "string" } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error("usage: npx tsx torch/register.ts models/NAME [--default-from D]");
  process.exit(2);
}
const dir = resolve(positionals[0]);
const root = dirname(dir);
const from = values["default-from"];
const entry = await registryEntry(dir, { root, defaultFrom: from === undefined ? undefined : Number(from) });
const models = readRegistry(root)
  .filter((m) => m.id !== entry.id)
  .map((m) =>
    m.defaultFrom !== undefined && m.defaultFrom === entry.defaultFrom ? { ...m, defaultFrom: undefined } : m,
  );
models.push(entry);
models.sort((a, b) => (a.defaultFrom ?? 2) - (b.defaultFrom ?? 2) || a.id.localeCompare(b.id));
await writeFileAtomic(join(root, REGISTRY_FILE), `${JSON.stringify({ models }, null, 2)}\n`, {
  overwrite: true,
});
console.log(`registered ${entry.id} in ${join(root, REGISTRY_FILE)}`);
