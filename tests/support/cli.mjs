// Shared by the Worker tests (tests/worker/harness.mjs) and the npm consumer tests
// (tests/js/consumer/helpers.mjs, which import it from the repository): temporary files that
// go away with the process, and running the edge-jwt CLI. Node built-ins only.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Temporary files under one directory per process, named `edge-jwt-<prefix>-…`. */
export function tempFiles(prefix) {
  let dir;
  let counter = 0;
  const tempDir = () => {
    if (!dir) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `edge-jwt-${prefix}-`));
      process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    return dir;
  };
  /** Writes `content` (objects as JSON) to a fresh temporary file and returns its path. */
  const writeTemp = (name, content) => {
    const file = path.join(tempDir(), `${counter++}-${name}`);
    fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };
  return { tempDir, writeTemp };
}

/** Runs the CLI at `bin`: { status, json (stdout parsed, if it is JSON), stdout, stderr }. */
export function runCli(bin, args, { input, cwd } = {}) {
  const r = spawnSync(bin, args, { encoding: "utf8", input, cwd });
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, stdout: r.stdout, stderr: r.stderr };
}
