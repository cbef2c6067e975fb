import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { buildWeb, type WebBuild } from "./build.ts";
import { serve } from "./serve.ts";

/**
 * Drives the page in headless Chromium (Debian's package; puppeteer-core downloads nothing) for the browser
 * test and bench/web.ts: build, serve on a free port, then encode and decode files through the page's UI.
 */

/** The Chromium binary: CHROMIUM_PATH, else `chromium` on PATH. Throws one line when there is none. */
export function chromiumPath(): string {
  const named = process.env.CHROMIUM_PATH;
  if (named && existsSync(named)) return named;
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const path = execFileSync("which", [name], { encoding: "utf8" }).trim();
      if (path) return path;
    } catch {
      // not on PATH
    }
  }
  throw new Error(
    "No Chromium for the browser test: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH",
  );
}

export interface PageSession {
  build: WebBuild;
  url: string;
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions of the page and its worker. */
  problems: string[];
  close(): Promise<void>;
}

export async function openPage(options: { build?: WebBuild } = {}): Promise<PageSession> {
  const executablePath = chromiumPath();
  const build = options.build ?? (await buildWeb());
  const server: Server = await serve(build.outDir, 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // a 12-megapixel encode keeps the page busy for minutes on a slow machine
    protocolTimeout: 900_000,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const problems: string[] = [];
  const page = await browser.newPage();
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.setViewport({ width: 1200, height: 800 });
  await page.goto(url);
  await page.waitForFunction(
    () => document.body.dataset.state === "ready" || !!document.getElementById("error")?.textContent,
    {
      timeout: 60_000,
    },
  );
  return {
    build,
    url,
    browser,
    page,
    problems,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface PageResult {
  /** "done" or "error". */
  state: string;
  error: string;
  rgbaSha256?: string;
  decodeSeconds?: number;
  encodeSeconds?: number;
  /** The .mgc the page offers for download (after an encode). */
  mgc?: Uint8Array;
}

/** Chooses `file` in the page's file input (an image is encoded, a .mgc decoded) and waits for the result. */
export async function runFile(
  page: Page,
  file: string,
  settings: { density?: number; backend?: string } = {},
  timeoutMs = 120_000,
): Promise<PageResult> {
  if (settings.density !== undefined) {
    await page.$eval("#density", (el, v) => ((el as HTMLInputElement).value = String(v)), settings.density);
  }
  if (settings.backend !== undefined) await page.select("#backend", settings.backend);
  const before = await page.evaluate(() => Number(document.body.dataset.finished ?? 0));
  const input = await page.$("#file");
  if (!input) throw new Error("the page has no file input");
  await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(file);
  await page.waitForFunction(
    (n) => Number(document.body.dataset.finished ?? 0) > n,
    { timeout: timeoutMs },
    before,
  );
  return page
    .evaluate(async () => {
      const summary = document.getElementById("summary") as HTMLElement;
      const link = document.getElementById("download-mgc") as HTMLAnchorElement | null;
      const state = document.body.dataset.state ?? "";
      const mgc =
        state === "done" && link
          ? Array.from(new Uint8Array(await (await fetch(link.href)).arrayBuffer()))
          : undefined;
      return {
        state,
        error: document.getElementById("error")?.textContent ?? "",
        rgbaSha256: state === "done" ? summary.dataset.rgbaSha256 : undefined,
        decodeSeconds: state === "done" ? Number(summary.dataset.decodeSeconds) : undefined,
        encodeSeconds:
          summary.dataset.encodeSeconds && mgc ? Number(summary.dataset.encodeSeconds) : undefined,
        mgc: mgc as unknown as Uint8Array,
      };
    })
    .then((r) => ({ ...r, mgc: r.mgc ? new Uint8Array(r.mgc) : undefined }));
}
