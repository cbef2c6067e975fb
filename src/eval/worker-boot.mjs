// Entry of a sweep worker thread: registers the TypeScript loader (workers do not inherit a loader
// registered programmatically in the main thread), then runs the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
