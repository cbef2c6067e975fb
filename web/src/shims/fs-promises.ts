/** node:fs/promises in the page: readFile over ../vfs.ts (fetched on first use); no writing. */
import { readAsset } from "../vfs.ts";
import { unsupported } from "./unsupported.ts";

export async function readFile(
  path: string,
  encoding?: string | { encoding?: string },
): Promise<Uint8Array | string> {
  const bytes = await readAsset(path);
  const enc = typeof encoding === "string" ? encoding : encoding?.encoding;
  return enc ? new TextDecoder().decode(bytes) : bytes;
}

export const appendFile = unsupported("fs.appendFile");
export const copyFile = unsupported("fs.copyFile");
export const cp = unsupported("fs.cp");
export const link = unsupported("fs.link");
export const mkdir = unsupported("fs.mkdir");
export const readdir = unsupported("fs.readdir");
export const rename = unsupported("fs.rename");
export const rm = unsupported("fs.rm");
export const writeFile = unsupported("fs.writeFile");
export default { readFile };
