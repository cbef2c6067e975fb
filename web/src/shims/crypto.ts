/** node:crypto in the page: createHash("sha256"), the one hash the codec uses (weight hashes). */
import { Sha256 } from "./sha256.ts";
import { unsupported } from "./unsupported.ts";

export function createHash(algorithm: string): Sha256 {
  if (algorithm !== "sha256") throw new Error(`hash ${algorithm} is not available in the browser`);
  return new Sha256();
}

export const randomBytes = unsupported("crypto.randomBytes");
export default { createHash, randomBytes };
