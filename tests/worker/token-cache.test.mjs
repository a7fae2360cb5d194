// The Worker's verified-token cache: a repeated token skips its signature check, but never its
// time checks (an entry dies with its token) nor its revocation check (every request).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("verified-token cache", () => {
  // No clock leeway, so that a token's exp is the second it stops working.
  const policy = h.basePolicy({ leeway_s: 0, revocation: { snapshot_ttl_s: 1 } });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("a repeated token is a cache hit, its signature checked once", async () => {
    const t = mint({ sub: "repeat" });
    const before = (await worker.health()).isolate.token_cache;
    for (let i = 0; i < 10; i++) assert.equal((await worker.get("/api", t.token)).status, 200);
    const after = (await worker.health()).isolate.token_cache;
    assert.equal(after.hits - before.hits, 9, JSON.stringify(after));
    assert.equal(after.misses - before.misses, 1);
  });

  test("a token 1 s from exp is refused once it has expired, never served from the cache", async () => {
    const at = h.now();
    // Track 4's ceiling is one hour: issued an hour less two seconds ago, it expires in 2 s.
    const t = mint({ sub: "expiring", at: at - 3600 + 2 });
    assert.equal((await worker.get("/api", t.token)).status, 200);
    assert.equal((await worker.get("/api", t.token)).status, 200, "cached");
    await sleep((t.exp - Date.now() / 1000 + 0.2) * 1000);
    h.assertRejected(await worker.get("/api", t.token), "expired");
  });

  test("a cached token revoked is refused on its next request in this isolate", async () => {
    const t = mint({ sub: "cached-revoked" });
    assert.equal((await worker.get("/api", t.token)).status, 200);
    assert.equal((await worker.get("/api", t.token)).status, 200);
    assert.equal((await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp })).status, 200);
    h.assertRejected(await worker.get("/api", t.token), "revoked");
  });

  test("a different token (one character changed) never hits another's entry", async () => {
    const t = mint({ sub: "neighbour" });
    assert.equal((await worker.get("/api", t.token)).status, 200);
    const at = t.token.length - 10; // inside the signature, away from its padding bits
    const forged = t.token.slice(0, at) + (t.token[at] === "A" ? "B" : "A") + t.token.slice(at + 1);
    h.assertRejected(await worker.get("/api", forged), "bad_signature");
  });
});
