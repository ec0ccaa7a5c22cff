/** An error answer of the server (`{"error": {"code", "message"}}`), or a request that got no answer. */
export class OffloadError extends Error {
  /** The HTTP status; 0 when no answer came (a network error). */
  readonly status: number;
  /** The server's code (`not_found`, `conflict`, `unprocessable`, …), or `network_error`. */
  readonly code: string;
  /** Seconds the server asked to wait (`Retry-After` of a 429 or 503). */
  readonly retryAfter?: number;
  /** For a refused batch: the invalid items (`{index, message}`). */
  readonly items?: unknown[];

  constructor(status: number, code: string, message: string, options: { retryAfter?: number; items?: unknown[]; cause?: unknown } = {}) {
    super(message);
    this.name = "OffloadError";
    this.status = status;
    this.code = code;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options.items !== undefined) this.items = options.items;
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }

  /** Worth another attempt of a call that is safe to repeat: no answer, a 5xx, or a 429. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  /** Reads an error answer. */
  static async from(response: Response): Promise<OffloadError> {
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    let code = `http_${response.status}`;
    let message = `HTTP ${response.status}`;
    let items: unknown[] | undefined;
    const text = await response.text().catch(() => "");
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === "object" && body.error) {
        if (typeof body.error.code === "string") code = body.error.code;
        if (typeof body.error.message === "string") message = body.error.message;
        if (Array.isArray(body.error.items)) items = body.error.items;
      }
    } catch {
      if (text) message = `HTTP ${response.status}: ${text.slice(0, 200)}`;
    }
    return new OffloadError(response.status, code, message, { retryAfter, items });
  }
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
