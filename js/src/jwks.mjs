// The remote JWKS's I/O (`jwks_url`): the host's fetch, its body read within the core's size
// limit. Every decision about the set is the core's edge validator's, shared with the Worker.

/** Largest JWKS document accepted (real ones are a few KiB): the core's `jwks::MAX_DOCUMENT_BYTES`. */
const MAX_JWKS_BYTES = 256 * 1024;

/**
 * A JWKS response's body as text, as the Worker reads it: a `Content-Length` over
 * `MAX_JWKS_BYTES` fails before reading, and the stream is cancelled as soon as more than that
 * has arrived (whatever the headers said).
 */
async function readJwksBody(response) {
  const declared = response.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > MAX_JWKS_BYTES) {
    response.body?.cancel().catch(() => {});
    throw new Error(`document too large (Content-Length ${declared.trim()} > ${MAX_JWKS_BYTES} bytes)`);
  }
  // A non-standard response without a body stream (a custom options.fetch): its text, measured.
  if (!response.body) {
    const text = await response.text();
    if (new TextEncoder().encode(text).length > MAX_JWKS_BYTES) throw new Error(`document too large (more than ${MAX_JWKS_BYTES} bytes)`);
    return text;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      reader.cancel().catch(() => {});
      throw new Error(`document too large (more than ${MAX_JWKS_BYTES} bytes)`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * The host's fetch for the core's remote JWKS (`setJwksFetch`): `(url, timeoutMs)` resolves
 * `[body, cacheControl]` or rejects with why. When to fetch, one refresh at a time, the refetch
 * budget and what the set holds are the core's (`gateway::edge`, as in the Worker); this is
 * only the I/O: no redirect followed, the body read within the size limit, the time bounded.
 */
export function jwksFetcher(fetchImpl) {
  const fetchFn = fetchImpl ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new TypeError("jwks_url needs fetch(): pass options.fetch in this host");
  return async (url, timeoutMs) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      // Redirects are not followed: the set comes from jwks_url itself or not at all.
      const response = await fetchFn(url, { headers: { accept: "application/json" }, redirect: "manual", signal: controller.signal });
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400) || response.redirected) {
        response.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${response.status || "redirect"}: redirect not followed (jwks_url must serve the set itself)`);
      }
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      return [await readJwksBody(response), response.headers.get("cache-control") ?? undefined];
    } catch (error) {
      throw new Error(controller.signal.aborted ? "timed out" : String(error?.message ?? error));
    } finally {
      clearTimeout(timer);
    }
  };
}
