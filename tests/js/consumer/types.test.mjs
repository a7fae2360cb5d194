// The TypeScript declarations, as a consumer's compiler sees the installed package: tsc
// --noEmit (strict, nodenext resolution) over js/examples/example.ts (ESM: index.d.ts, hono.d.ts,
// express.d.ts with Hono's and Express's own types) and example.cts (CommonJS: index.d.cts).
// Their `@ts-expect-error` lines fail the compile if the declarations degrade to `any`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = process.env.EDGE_JWT_TSC;

for (const project of ["tsconfig.json", "tsconfig.cjs.json"]) {
  test(`tsc --noEmit -p ${project} compiles the example against the installed declarations`, () => {
    assert.ok(tsc && fs.existsSync(tsc), "EDGE_JWT_TSC names js/node_modules/.bin/tsc (tests/js/run.sh sets it)");
    const r = spawnSync(tsc, ["--noEmit", "-p", project], { cwd: here, encoding: "utf8" });
    assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  });
}

test("a misuse the declarations must catch does not compile", () => {
  const file = path.join(here, "types", "misuse.ts");
  const project = path.join(here, "tsconfig.misuse.json");
  fs.writeFileSync(file, 'import { Validator } from "edge-jwt";\nnew Validator({ algorithms: ["HS256"] }).verifySync(123);\n');
  fs.writeFileSync(project, JSON.stringify({ extends: "./tsconfig.json", files: ["types/misuse.ts"] }));
  try {
    const r = spawnSync(tsc, ["--noEmit", "-p", project], { cwd: here, encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /misuse\.ts\(2,\d+\): error TS2345/);
  } finally {
    fs.rmSync(file);
    fs.rmSync(project);
  }
});
