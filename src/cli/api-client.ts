/** Where CLI commands find the server: PLINTH_URL (when set and not empty) or the local default. */
export const SERVER_URL = process.env.PLINTH_URL || 'http://127.0.0.1:8080';

/** A credential for the server (an access token or an API key), from PLINTH_TOKEN. */
const TOKEN = process.env.PLINTH_TOKEN || undefined;

/** The request's headers with the PLINTH_TOKEN credential, when one is set. */
export function withCredential(init: RequestInit): RequestInit {
  if (!TOKEN) return init;
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${TOKEN}`);
  return { ...init, headers };
}

/** Calls a running Plinth server for the CLI: readable errors for unreachable servers and error bodies. */
export async function callApi(url: URL, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(url, withCredential(init)).catch((err: Error) => {
    // fetch only says "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause.
    const cause = err.cause as { code?: string; message?: string } | undefined;
    throw new Error(`cannot reach the server at ${url.origin}: ${cause?.code ?? cause?.message ?? err.message}`);
  });
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      message = (JSON.parse(body) as { error?: string }).error ?? body;
    } catch {
      // not JSON: print it as it came
    }
    throw new Error(`${response.status}: ${message}`);
  }
  return body === '' ? undefined : JSON.parse(body);
}

/** A JSON request's init. */
export const jsonBody = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
