import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every test writes its scratch files under os.tmpdir(). Point that (TMPDIR, inherited by the test workers
 * and the CLI processes they spawn) at one folder for the run and remove it afterwards, so a test run leaves
 * nothing behind in /tmp.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "maskcodec-tests-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
