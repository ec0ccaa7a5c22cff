import { OffloadError } from "./errors.js";
import { SSEParser, type ServerSentMessage } from "./sse.js";
import {
  FINAL_STATUSES,
  type AuthToken, type BatchItem, type EventList, type Job, type JobEvent, type JobStatus, type ListQuery,
  type OffloadConfig, type Page, type StreamToken, type SubmitOptions, type WaitOptions, type WatchOptions,
} from "./types.js";

/** How a call may be repeated: reads, cancel and a submit with an idempotency key are safe to. */
interface CallOptions {
  body?: unknown;
  retryable: boolean;
}

/**
 * A client of an Offload server: submit jobs, read them, follow them live.
 *
 * With an `apiKey` it exchanges the key for a JWT on first use and renews it `refreshMarginSeconds` before it
 * expires (or at once after a 401). Calls that are safe to repeat (reads, cancel, and a submit that carries an
 * `idempotencyKey`) are retried on network errors, 5xx and 429 (honouring `Retry-After`) with backoff; a submit
 * without one is never retried, since a retry could store the job twice.
 */
export class Offload {
  readonly baseUrl: string;
  readonly #config: OffloadConfig;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  #jwt: { value: string; expiresAt: number } | null = null;
  #exchanging: Promise<string> | null = null;

  constructor(config: OffloadConfig) {
    if (!config || typeof config.baseUrl !== "string" || config.baseUrl === "") {
      throw new TypeError("Offload: baseUrl is required");
    }
    const credentials = [config.apiKey, config.token, config.getToken].filter((c) => c !== undefined);
    if (credentials.length > 1) throw new TypeError("Offload: give one of apiKey, token and getToken");
    this.#config = config;
    this.baseUrl = config.baseUrl.replace(/\/+$/, "");
    const given = config.fetch ?? globalThis.fetch;
    if (typeof given !== "function") throw new TypeError("Offload: no fetch in this runtime; pass config.fetch");
    this.#fetch = (input, init) => given(input, init);
    this.#now = config.now ?? Date.now;
    this.#maxAttempts = Math.max(1, config.maxAttempts ?? 4);
  }

  /** Submits a job: 201 and the job once it is durable, or the earlier job of a repeated `idempotencyKey`. */
  submit(processingType: string, data?: unknown, options: SubmitOptions = {}): Promise<Job> {
    return this.#call<Job>("POST", "/api/jobs", {
      body: { processingType, data, options }, retryable: options.idempotencyKey !== undefined,
    });
  }

  /** Submits 1 to 1,000 jobs in one transaction, all or none; answers them in order. */
  async submitBatch(items: BatchItem[]): Promise<Job[]> {
    const page = await this.#call<{ jobs: Job[] }>("POST", "/api/jobs/batch", { body: { jobs: items }, retryable: false });
    return page.jobs;
  }

  /**
   * Submits a job and waits up to `timeoutSeconds` (default 60, at most 300) for it to end: answers the job
   * as it is then, finished or not (look at `status`).
   */
  submitAndWait(processingType: string, data?: unknown, options: SubmitOptions = {}, wait: WaitOptions = {}): Promise<Job> {
    const seconds = Math.max(0, Math.min(300, Math.floor(wait.timeoutSeconds ?? 60)));
    return this.#call<Job>("POST", `/api/jobs?wait=${seconds}`, {
      body: { processingType, data, options }, retryable: options.idempotencyKey !== undefined,
    });
  }

  /** The job now. */
  get(jobId: string): Promise<Job> {
    return this.#call<Job>("GET", `/api/jobs/${encodeURIComponent(jobId)}`, { retryable: true });
  }

  /** A page of jobs, newest first. */
  list(query: ListQuery = {}): Promise<Page> {
    const parameters = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) parameters.set(name, String(value));
    }
    const suffix = parameters.toString();
    return this.#call<Page>("GET", `/api/jobs${suffix ? `?${suffix}` : ""}`, { retryable: true });
  }

  /** Cancels a job: a pending one at once, a running one once its worker has stopped it. */
  cancel(jobId: string): Promise<Job> {
    return this.#call<Job>("POST", `/api/jobs/${encodeURIComponent(jobId)}/cancel`, { retryable: true });
  }

  /** Runs a FAILED or CANCELLED job again, with all its attempts. */
  retry(jobId: string): Promise<Job> {
    return this.#call<Job>("POST", `/api/jobs/${encodeURIComponent(jobId)}/retry`, { retryable: false });
  }

  /** A short-lived token (5 minutes) that reads only this job: hand it to a browser for `watch` / `useJob`. */
  streamToken(jobId: string): Promise<StreamToken> {
    return this.#call<StreamToken>("POST", `/api/jobs/${encodeURIComponent(jobId)}/stream-token`, { retryable: true });
  }

  /** The job's stored events after `after` (its seq), at most `limit`, as JSON. */
  events(jobId: string, query: { after?: number; limit?: number } = {}): Promise<EventList> {
    const parameters = new URLSearchParams();
    if (query.after !== undefined) parameters.set("after", String(query.after));
    if (query.limit !== undefined) parameters.set("limit", String(query.limit));
    const suffix = parameters.toString();
    return this.#call<EventList>("GET", `/api/jobs/${encodeURIComponent(jobId)}/events${suffix ? `?${suffix}` : ""}`, {
      retryable: true,
    });
  }

  /**
   * Follows a job over Server-Sent Events: its snapshot, then every event until the final one (then the loop
   * ends). A cut connection is resumed with `Last-Event-ID` after exponential backoff (at most
   * `maxReconnects` in a row), so no event comes twice and none goes missing. `signal` ends the loop quietly.
   */
  async *watch(jobId: string, options: WatchOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    const maxReconnects = options.maxReconnects ?? 5;
    const outer = options.signal;
    let lastEventId = options.lastEventId ?? null;
    let failures = 0;
    let renewed = false;
    let renewNow = false;
    let retryMs: number | null = null;
    const url = `${this.baseUrl}/api/sse/job-progress/${encodeURIComponent(jobId)}`;
    while (!outer?.aborted) {
      const controller = new AbortController();
      const abort = () => controller.abort();
      outer?.addEventListener("abort", abort);
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const credential = await this.#credential(renewNow);
        renewNow = false;
        let target = url;
        if (this.#config.tokenInQuery && credential) {
          const query = new URLSearchParams({ token: credential });
          if (lastEventId !== null) query.set("lastEventId", lastEventId);
          target = `${url}?${query}`;
        } else {
          if (credential) headers.Authorization = `Bearer ${credential}`;
          if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
        }
        let response: Response;
        try {
          response = await this.#fetch(target, { headers, signal: controller.signal, cache: "no-store" });
        } catch (cause) {
          throw networkError(cause);
        }
        if (!response.ok) {
          const error = await OffloadError.from(response);
          if (error.status === 401 && !renewed && this.#canRenew) {
            renewed = true;
            renewNow = true;
            continue;
          }
          throw error;
        }
        renewed = false;
        if (!response.body) throw new OffloadError(0, "network_error", "the event stream has no body");
        const parser = new SSEParser();
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        let endedOnFinalSnapshot = false;
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (cause) {
            throw networkError(cause);
          }
          if (chunk.done) break;
          const messages = parser.feed(decoder.decode(chunk.value, { stream: true }));
          if (parser.retry !== null) retryMs = parser.retry;
          for (const message of messages) {
            failures = 0;
            if (message.hasId) lastEventId = message.lastEventId;
            const event = toJobEvent(message);
            if (!event) continue;
            yield event;
            if (event.kind === "completed" || event.kind === "failed" || event.kind === "cancelled") return;
            const finalSnapshot = event.kind === "snapshot" && isFinal(event.data.status);
            // A snapshot with an id is the stream's start: a finished job's has nothing after it. One sent after
            // a Last-Event-ID may still have the events the client missed behind it.
            if (finalSnapshot && event.id !== null) return;
            endedOnFinalSnapshot = finalSnapshot;
          }
        }
        if (endedOnFinalSnapshot) return;
        throw new OffloadError(0, "network_error", "the event stream ended before the job's final event");
      } catch (error) {
        if (outer?.aborted) return;
        if (error instanceof OffloadError && !error.retryable) throw error;
        failures += 1;
        if (failures > maxReconnects) throw error;
        await sleep((retryMs ?? 250) * 2 ** (failures - 1), outer);
      } finally {
        outer?.removeEventListener("abort", abort);
        controller.abort();
      }
    }
  }

  get #canRenew(): boolean {
    return this.#config.apiKey !== undefined || this.#config.getToken !== undefined;
  }

  /** The bearer token for the next request (null: none configured); `renew` drops a refused one. */
  async #credential(renew: boolean): Promise<string | null> {
    const config = this.#config;
    if (config.token !== undefined) return config.token;
    if (config.getToken) return await config.getToken();
    if (config.apiKey === undefined) return null;
    const margin = (config.refreshMarginSeconds ?? 300) * 1000;
    if (!renew && this.#jwt && this.#jwt.expiresAt - margin > this.#now()) return this.#jwt.value;
    if (renew) this.#jwt = null;
    if (!this.#exchanging) {
      this.#exchanging = this.#exchange(config.apiKey).finally(() => {
        this.#exchanging = null;
      });
    }
    return this.#exchanging;
  }

  /** `POST /api/auth/token` with the key: always safe to repeat, so retried like a read. */
  async #exchange(apiKey: string): Promise<string> {
    const answer = await this.#send<AuthToken>("POST", "/api/auth/token", { "X-API-Key": apiKey }, { retryable: true });
    if (typeof answer?.token !== "string" || typeof answer.expiresIn !== "number") {
      throw new OffloadError(200, "bad_answer", "the token answer had no token");
    }
    this.#jwt = { value: answer.token, expiresAt: this.#now() + answer.expiresIn * 1000 };
    return answer.token;
  }

  async #call<T>(method: string, path: string, options: CallOptions): Promise<T> {
    let renewed = false;
    for (;;) {
      const credential = await this.#credential(renewed);
      const headers: Record<string, string> = credential ? { Authorization: `Bearer ${credential}` } : {};
      try {
        return await this.#send<T>(method, path, headers, options);
      } catch (error) {
        if (error instanceof OffloadError && error.status === 401 && !renewed && this.#canRenew) {
          renewed = true;
          continue;
        }
        throw error;
      }
    }
  }

  /** One request, with its retries when `retryable`. */
  async #send<T>(method: string, path: string, headers: Record<string, string>, options: CallOptions): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: "application/json", ...headers } };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    for (let attempt = 1; ; attempt++) {
      let error: OffloadError;
      try {
        const response = await this.#fetch(this.baseUrl + path, init);
        if (response.ok) {
          const text = await response.text();
          return (text ? JSON.parse(text) : undefined) as T;
        }
        error = await OffloadError.from(response);
      } catch (cause) {
        if (cause instanceof OffloadError) throw cause;
        if (cause instanceof SyntaxError) throw new OffloadError(0, "bad_answer", `the answer was not JSON: ${cause.message}`);
        error = networkError(cause);
      }
      if (!options.retryable || !error.retryable || attempt >= this.#maxAttempts) throw error;
      const backoff = 100 * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      await sleep(error.retryAfter !== undefined ? Math.min(error.retryAfter, 60) * 1000 : backoff);
    }
  }
}

function isFinal(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

const KINDS = new Set(["snapshot", "status", "progress", "log", "token", "completed", "failed", "cancelled"]);

/** A dispatched SSE message as a job event; null for an event name this SDK does not know (a newer server). */
function toJobEvent(message: ServerSentMessage): JobEvent | null {
  if (!KINDS.has(message.event)) return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw new OffloadError(0, "bad_event", `the ${message.event} event's data is not JSON`);
  }
  return { id: message.hasId ? message.lastEventId : null, kind: message.event, data } as JobEvent;
}

function networkError(cause: unknown): OffloadError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new OffloadError(0, "network_error", `no answer: ${message}`, { cause });
}

/** Waits `ms`; an aborted signal ends the wait early. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
