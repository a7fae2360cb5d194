// The boundary with the wasm core's memory (src/wasm/): the token buffer the core reads, the
// result numbers and texts it writes for each verification, and the host's native signature
// checks reading the core's bytes in place.

import * as core from "#glue";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// CoreValidator.verifyInput's outcomes (VERIFIED etc. in src/wasm/abi.rs).
export const VERIFIED = 0;
const REFUSED_REFETCH = 2;
let memory = null;
let memoryBytes = new Uint8Array(0);

/** The wasm module's memory as bytes; growing the memory detaches old views (length 0). */
function wasmBytes() {
  if (memoryBytes.byteLength === 0) memoryBytes = new Uint8Array((memory ??= core.wasmMemory()).buffer);
  return memoryBytes;
}

/** The UTF-8 text of `length` bytes at `at` in wasm memory. */
function textAt(at, length) {
  return decoder.decode(wasmBytes().subarray(at, at + length));
}

/**
 * The core's `prepare(alg, jwk)` for the host's native checks, `(message, signature) →
 * boolean` made by `prepareNative`: the core passes addresses in wasm memory (the message is
 * part of the token it was given, the signature it decoded), so the verifier reads them in
 * place instead of through copies.
 */
export function hostVerifiers(prepareNative) {
  return (alg, jwkJson) => {
    const check = prepareNative(alg, jwkJson);
    if (check === undefined) return undefined;
    return {
      verify(messageAt, messageLength, signatureAt, signatureLength) {
        const bytes = wasmBytes();
        return check(bytes.subarray(messageAt, messageAt + messageLength), bytes.subarray(signatureAt, signatureAt + signatureLength));
      },
    };
  };
}

/**
 * A CoreValidator's buffers in wasm memory: the token input it reads (`TokenInput` in
 * src/wasm/abi.rs) and the `VerifyResult` it writes (numbers, then texts at numbers[2]).
 */
export class VerifyBuffers {
  /** The core's token buffer ([address, length] in wasm memory) and a view of it. */
  #inputAt;
  #inputLength;
  #input = new Uint8Array(0);
  /** The core's result numbers and their address in wasm memory. */
  #results = new Float64Array(0);
  #resultsAt;
  #resultsCount;

  constructor(coreValidator) {
    [this.#inputAt, this.#inputLength] = coreValidator.tokenInput();
    [this.#resultsAt, this.#resultsCount] = coreValidator.resultNumbers();
  }

  /**
   * Writes `token` into the core's token buffer with one native copy and returns its length in
   * bytes; a token too long for the buffer is cut there and the core answers `too_large`.
   */
  writeToken(token) {
    if (this.#input.byteLength === 0) this.#input = wasmBytes().subarray(this.#inputAt, this.#inputAt + this.#inputLength);
    return encoder.encodeInto(token, this.#input).written;
  }

  #numbers() {
    if (this.#results.byteLength === 0) this.#results = new Float64Array(wasmBytes().buffer, this.#resultsAt, this.#resultsCount);
    return this.#results;
  }

  /** The failed result of an `outcome` other than VERIFIED (`refetch: true` when the core asks for one). */
  refusal(outcome) {
    const numbers = this.#numbers();
    const error = JSON.parse(textAt(numbers[2], numbers[3])); // refused: the error's text
    return outcome === REFUSED_REFETCH ? { ok: false, error, refetch: true } : { ok: false, error };
  }

  /**
   * A VERIFIED result: `{ id, ttlCeiling, headerSerial, claimsText, headerText, track }`, every
   * text read before the caller parses any, so nothing can run in between and reuse the core's
   * buffer. `headerText` is null when the core left the header out because it is the one the
   * caller holds (by serial); `track` null for none.
   */
  verified() {
    const numbers = this.#numbers();
    // Indexed reads: destructuring a typed array goes through its iterator (3× slower here).
    let at = numbers[2];
    const id = numbers[0];
    const ttlCeiling = numbers[1];
    const claimsLength = numbers[3];
    const headerLength = numbers[4];
    const headerSerial = numbers[5];
    const trackLength = numbers[6];
    const claimsText = textAt(at, claimsLength);
    at += claimsLength;
    const headerText = headerLength >= 0 ? textAt(at, headerLength) : null;
    at += Math.max(headerLength, 0);
    const track = trackLength >= 0 ? textAt(at, trackLength) : null;
    return { id, ttlCeiling, headerSerial, claimsText, headerText, track };
  }
}
