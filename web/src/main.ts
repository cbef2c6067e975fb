import type { BackendId } from "../../src/codec/types.ts";
import { COMPARE_MAX_PIXELS } from "./limits.ts";
import type { Compared, Decoded, Encoded, Preview, Request, Response } from "./protocol.ts";

/**
 * The page: hands files to the codec's worker and shows what comes back. Everything heavy (decoding images,
 * the networks, the diffusion solver, the reference encoders, the metrics) runs in worker.ts.
 */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const errorLine = $<HTMLParagraphElement>("error");
const progress = $<HTMLProgressElement>("progress");
const stage = $<HTMLSpanElement>("stage");
const results = $<HTMLDivElement>("results");
const downloads = $<HTMLParagraphElement>("downloads");
const summary = $<HTMLParagraphElement>("summary");
const encodeButton = $<HTMLButtonElement>("encode");
const showMask = $<HTMLInputElement>("show-mask");

let nextId = 1;
let lastImage: File | undefined;
const pending = new Map<number, { resolve: (r: Response) => void }>();

worker.onmessage = (event: MessageEvent<Response>) => {
  const message = event.data;
  if (message.type === "ready") {
    document.body.dataset.state = "ready";
    stage.textContent = "ready";
    return;
  }
  if (message.type === "failed-to-start") {
    showError(`The codec could not start: ${message.message}`);
    return;
  }
  if (message.type === "progress") {
    progress.value = message.fraction;
    stage.textContent = message.stage;
    return;
  }
  pending.get(message.id)?.resolve(message);
  pending.delete(message.id);
};

/** A request as the page writes it; ask() numbers it. */
type Unnumbered = Request extends infer R ? (R extends Request ? Omit<R, "id"> : never) : never;

function ask(request: Unnumbered, transfer: Transferable[]): Promise<Response> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve });
    worker.postMessage({ ...request, id }, transfer);
  });
}

let finished = 0;

/** For the browser test: `state` and a count of finished requests, on <body>. */
function finish(state: "done" | "error"): void {
  document.body.dataset.state = state;
  document.body.dataset.finished = String(++finished);
}

function showError(message: string): void {
  errorLine.textContent = message;
  finish("error");
  stage.textContent = "";
  progress.value = 0;
}

async function handle(file: File): Promise<void> {
  errorLine.textContent = "";
  document.body.dataset.state = "busy";
  progress.value = 0;
  const bytes = await file.arrayBuffer();
  const isStream = file.name.toLowerCase().endsWith(".mgc");
  let response: Response;
  if (isStream) {
    stage.textContent = "decoding";
    response = await ask({ type: "decode", file: bytes, name: file.name }, [bytes]);
  } else {
    lastImage = file;
    encodeButton.disabled = false;
    const density = Number($<HTMLInputElement>("density").value);
    const backend = $<HTMLSelectElement>("backend").value as BackendId;
    response = await ask({ type: "encode", file: bytes, name: file.name, density, backend }, [bytes]);
  }
  if (response.type === "error") return showError(response.message);
  if (response.type === "encoded") showEncoded(response.result, file.name);
  if (response.type === "decoded") showDecoded(response.result, file.name);
  progress.value = 1;
  stage.textContent = "done";
  finish("done");
}

function canvasOf(bitmap: ImageBitmap): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("bitmaprenderer")?.transferFromImageBitmap(bitmap);
  return canvas;
}

/** The stored pixels as red dots over the decoded image. */
function maskOverlay(mask: ImageBitmap): HTMLCanvasElement {
  const canvas = canvasOf(mask);
  canvas.className = "overlay";
  canvas.hidden = !showMask.checked;
  return canvas;
}

function panel(
  title: string,
  picture: Preview,
  caption: string,
  id: string,
  mask?: ImageBitmap,
): HTMLElement {
  const figure = document.createElement("figure");
  figure.id = id;
  const frame = document.createElement("div");
  frame.className = "frame";
  frame.append(canvasOf(picture.bitmap));
  if (mask) frame.append(maskOverlay(mask));
  const text = document.createElement("figcaption");
  text.textContent = `${title}: ${caption}`;
  figure.append(frame, text);
  return figure;
}

function link(blob: Blob, name: string, label: string, id: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.textContent = label;
  a.id = id;
  return a;
}

const base = (name: string) => name.replace(/\.[^.]*$/, "");
const describe = (c: Compared) =>
  `${c.bytes} bytes, ${c.bpp.toFixed(3)} bpp` +
  (Number.isNaN(c.psnr)
    ? ` (no JPEG/WebP comparison above ${COMPARE_MAX_PIXELS / 1e6} megapixels)`
    : `, PSNR ${c.psnr.toFixed(2)} dB, SSIM ${c.ssim.toFixed(4)}`);

function showStream(decoded: Decoded): void {
  const s = decoded.summary;
  summary.textContent =
    `${s.width}×${s.height}, ${s.channels === 3 ? "colour" : "grey"}, ${s.backend}${s.model ? ` (${s.model})` : ""}, ` +
    `density ${s.density.toFixed(4)}, decoded in ${decoded.seconds.toFixed(2)} s`;
  summary.dataset.rgbaSha256 = decoded.rgbaSha256;
  summary.dataset.decodeSeconds = String(decoded.seconds);
}

function showEncoded(result: Encoded, name: string): void {
  const [codec, ...others] = result.compared;
  results.replaceChildren(
    panel("original", result.original, `${result.original.width}×${result.original.height}`, "original"),
    panel("maskcodec", codec.picture, describe(codec), "decoded", result.decoded.mask),
    ...others.map((c) => panel(c.label, c.picture, describe(c), c.label.toLowerCase())),
  );
  showStream(result.decoded);
  summary.textContent += `; encoded in ${result.encodeSeconds.toFixed(2)} s`;
  summary.dataset.encodeSeconds = String(result.encodeSeconds);
  downloads.replaceChildren(
    link(codec.file, `${base(name)}.mgc`, "download .mgc", "download-mgc"),
    link(result.decoded.png, `${base(name)}.png`, "download decoded PNG", "download-png"),
  );
}

function showDecoded(result: Decoded, name: string): void {
  results.replaceChildren(
    panel("maskcodec", result.picture, `${result.summary.bytes} bytes`, "decoded", result.mask),
  );
  showStream(result);
  downloads.replaceChildren(link(result.png, `${base(name)}.png`, "download decoded PNG", "download-png"));
}

$<HTMLInputElement>("file").addEventListener("change", (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = ""; // so that choosing the same file again is a change too
  if (file) void handle(file);
});
encodeButton.addEventListener("click", () => {
  if (lastImage) void handle(lastImage);
});
showMask.addEventListener("change", () => {
  for (const overlay of document.querySelectorAll<HTMLCanvasElement>("canvas.overlay")) {
    overlay.hidden = !showMask.checked;
  }
});
const drop = $<HTMLDivElement>("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer?.files[0];
  if (file) void handle(file);
});
