#!/usr/bin/env node
// Serves the introspection page on loopback: `node js/page/serve.mjs [--port 8790]`, then open
// the printed URL. Only two folders are served: js/page/ (the page) at /page/ and js/dist/ (the
// package's browser build and its .wasm) at /dist/, so the page's `import "../dist/browser.mjs"`
// and the module's fetch of edge_jwt_bg.wasm stay on this origin. Build the package first
// (`cd js && npm ci && node scripts/build.mjs`). `--port 0` picks a free port; the first line
// on stdout is the page's URL.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOTS = { page: path.join(JS, "page"), dist: path.join(JS, "dist") };
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};
// The same policy as the page's <meta> tag, for browsers that apply headers only.
const CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(option("--port", process.env.PORT ?? "8790"));
const host = option("--host", "127.0.0.1");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("serve.mjs: --port must be 0–65535");
  process.exit(2);
}
if (!fs.existsSync(path.join(ROOTS.dist, "browser.mjs"))) {
  console.error("serve.mjs: js/dist/browser.mjs is missing: build the package first (cd js && npm ci && node scripts/build.mjs)");
  process.exit(2);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n", { allow: "GET, HEAD" });
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  } catch {
    return send(res, 400, "bad request\n");
  }
  if (pathname === "/" || pathname === "/page") return send(res, 302, "", { location: "/page/" });
  const [, top, ...rest] = pathname.split("/");
  const root = ROOTS[top];
  if (!root) return send(res, 404, "not found\n");
  const relative = rest.join("/") || "index.html";
  const file = path.resolve(root, relative);
  if (!file.startsWith(root + path.sep) || relative.split("/").some((part) => part.startsWith("."))) {
    return send(res, 404, "not found\n");
  }
  fs.stat(file, (error, stat) => {
    if (error || !stat.isFile()) return send(res, 404, "not found\n");
    const type = TYPES[path.extname(file)] ?? "application/octet-stream";
    res.writeHead(200, {
      "content-type": type,
      "content-length": stat.size,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      ...(type.startsWith("text/html") ? { "content-security-policy": CSP } : {}),
    });
    if (req.method === "HEAD") return res.end();
    fs.createReadStream(file).pipe(res);
  });
});

server.listen(port, host, () => {
  const { port: bound } = server.address();
  console.log(`http://${host}:${bound}/page/`);
  console.error("edge-jwt introspection page: everything runs in the browser; Ctrl-C stops the server");
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
