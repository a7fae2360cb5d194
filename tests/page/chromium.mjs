// What the browser tests share: the page's own server (`node js/page/serve.mjs`, which also
// serves the package's browser build at /dist/) and Debian's /usr/bin/chromium, headless,
// driven by playwright-core (no browser is downloaded).

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = "/usr/bin/chromium";

/** Starts `js/page/serve.mjs` on a free port: `{ origin, stop() }`. */
export async function servePage() {
  const server = spawn(process.execPath, [path.join(ROOT, "js/page/serve.mjs"), "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    server.once("exit", (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
  return {
    origin: new URL(url).origin,
    async stop() {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    },
  };
}

/** Headless Chromium with a fresh profile under `profileDir`; `options` adds context options. */
export function launchChromium(profileDir, options = {}) {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    ...options,
  });
}
