// Reading a response body in the Worker and consumer tests: JSON where it is JSON (the
// gateway's answers and errors), else the text as it came (an origin's or a framework's page).

/** `text` parsed as JSON, or `text` itself when it is not JSON. */
export function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
