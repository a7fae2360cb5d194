// What the WebCrypto tests run inside the host (workerd: workerd/worker.mjs; Chromium:
// tests/page/webcrypto.test.mjs, which sends this function's source to the page): the corpus of
// signature-corpus.mjs through the host's WebCrypto — `verify()` and `checkRequest()` (the
// middleware's path) — and through the core's own jwt-compact — `verifySync()` on the same
// validator and `verify()` on one built with `nativeCrypto: false` — with the signature counters
// of both. Self-contained (no imports, nothing from module scope): `E` is the package as the host
// imported it.

/**
 * `{ backends, verdicts: { name: { webcrypto, sync, wasm, request } }, signatures, oneEach,
 * concurrent, revocation }`.
 */
export async function probeBackends(E, { config, cases, distinct }) {
  const web = new E.Validator(config, { tokenCache: 0 });
  const wasm = new E.Validator(config, { tokenCache: 0, nativeCrypto: false });
  const verdictOf = (r) => (r.ok ? "ok" : r.error.code);
  const out = { backends: [web.signatureBackend, wasm.signatureBackend], verdicts: {} };
  for (const [name, token] of Object.entries(cases)) {
    const request = new Request("https://host.test/", { headers: { authorization: `Bearer ${token}` } });
    out.verdicts[name] = {
      webcrypto: verdictOf(await web.verify(token)),
      sync: verdictOf(web.verifySync(token)),
      wasm: verdictOf(await wasm.verify(token)),
      request: verdictOf(await web.checkRequest(request)),
    };
  }
  out.signatures = { web: web.stats().signatures, wasm: wasm.stats().signatures };
  // One more valid token each way: exactly one signature check, by WebCrypto then by the core.
  const diff = (a, b) => ({ host: a.host - b.host, wasm: a.wasm - b.wasm });
  const before = web.stats().signatures;
  await web.verify(cases.valid);
  const afterVerify = web.stats().signatures;
  web.verifySync(cases.valid);
  out.oneEach = { verify: diff(afterVerify, before), verifySync: diff(web.stats().signatures, afterVerify) };
  // Many at once: each result is its own token's, whatever order WebCrypto answers in.
  const all = Object.entries(cases);
  const together = await Promise.all(all.map(([, token]) => web.verify(token)));
  out.concurrent = Object.fromEntries(all.map(([name], i) => [name, verdictOf(together[i])]));
  // With revocation and one slot of verified tokens, all at once: every other one revoked. Each
  // answer must be its own token's (a result read for another token would pass a revoked one).
  if (distinct) {
    const store = new E.MemoryStore();
    const revoking = new E.Validator(config, { tokenCache: 0, store });
    for (const [i, { jti, exp }] of distinct.entries()) if (i % 2) await revoking.revoke({ jti, exp });
    const answers = await Promise.all(distinct.map(({ token }) => revoking.verify(token)));
    out.revocation = answers.map((r, i) => [verdictOf(r), r.ok ? r.claims.jti === distinct[i].jti : null]);
  }
  return out;
}
