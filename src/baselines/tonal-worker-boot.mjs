// Entry of a least-squares worker thread when the sources run directly (tests, tsx): registers the
// TypeScript loader (workers do not inherit a loader registered programmatically in the main thread), then
// runs the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./tonal-worker.ts");
