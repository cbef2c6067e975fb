import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import * as tfCore from "@tensorflow/tfjs-core";
import { unsupported } from "./unsupported.ts";

/**
 * node:module in the page. src/nets/tf.ts loads tfjs with `require` (in Node that skips a slow scan of
 * their CommonJS sources); here the bundle has both packages as ES modules, the same instances the worker
 * imports, and `require` hands them out.
 */
const MODULES: Record<string, unknown> = {
  "@tensorflow/tfjs-core": tfCore,
  "@tensorflow/tfjs-backend-wasm": tfWasm,
};

export function createRequire(_from: string | URL): ((id: string) => unknown) & { resolve: () => never } {
  const require = (id: string): unknown => {
    const module = MODULES[id];
    if (module === undefined) throw new Error(`require("${id}") is not available in the browser`);
    return module;
  };
  return Object.assign(require, { resolve: unsupported("require.resolve") });
}
