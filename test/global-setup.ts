import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every test writes its scratch files under os.tmpdir(). Point that (TMPDIR, inherited by the test workers
 * and the CLI processes they spawn) at one folder for the run and remove it afterwards, so a test run leaves
 * nothing behind in /tmp. The package's own build (dist/) is tested by test/package.test.ts, on the packed tarball.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "maskcodec-tests-"));
  process.env.TMPDIR = root;
  // the CLI processes the tests spawn run the sources (bin/maskcodec.js through tsx), like the tests themselves
  process.env.MASKCODEC_SOURCE = "1";
  return () => rmSync(root, { recursive: true, force: true });
}
