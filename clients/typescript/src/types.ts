// The SDK's own types, built on the generated ones (openapi.ts).
import type { Job, JobOptions, JobSubmission } from "./openapi.js";

export type { AuthToken, EventList, Job, JobList, JobOptions, JobSubmission, StoredEvent, StreamToken } from "./openapi.js";

/** `PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED`. */
export type JobStatus = Job["status"];

/** The statuses a job does not leave (unless it is retried). */
export const FINAL_STATUSES: readonly JobStatus[] = ["COMPLETED", "FAILED", "CANCELLED"];

/** How to reach a server and prove who you are: an API key, a token, or a function that answers one. */
export interface OffloadConfig {
  /** The server, e.g. `https://jobs.example.com`. */
  baseUrl: string;
  /** A client (or admin) key: exchanged once for a JWT, which is renewed `refreshMarginSeconds` before it expires. */
  apiKey?: string;
  /** A JWT, or a stream token (`streamToken(jobId)`, it reads one job only). */
  token?: string;
  /** Called for a token before each request (and again after a 401). */
  getToken?: () => string | Promise<string>;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Attempts of a call that is safe to repeat, the first included (default 4). */
  maxAttempts?: number;
  /** How long before its expiry a JWT got for `apiKey` is renewed (default 300). */
  refreshMarginSeconds?: number;
  /** The clock, in milliseconds (default `Date.now`); tests move it. */
  now?: () => number;
  /**
   * Send the token of `watch` as `?token=` instead of a header: for a stream token in a browser, where a
   * header would cost a CORS preflight. Never for an API key or a JWT that reads more than one job.
   */
  tokenInQuery?: boolean;
}

/** The options of a submit, as the server reads them (`options` of the body). */
export type SubmitOptions = JobOptions;

/** One item of `submitBatch`. */
export type BatchItem = JobSubmission;

/** A filter of `list`; pass the answer's `nextCursor` as `cursor` for the next page. */
export interface ListQuery {
  status?: JobStatus;
  type?: string;
  queue?: string;
  limit?: number;
  cursor?: string;
}

export interface Page {
  jobs: Job[];
  nextCursor: string | null;
}

/** The data of a `progress` event. */
export interface ProgressData {
  progress: number;
  message?: string;
}

/** The data of a `log` event. */
export interface LogData {
  stream: string;
  line: string;
}

/** The data of a `token` event (LLM output, in order). */
export interface TokenData {
  text: string;
}

/** The data of a `status` event: the job's new status, and for PROCESSING its attempt and worker. */
export interface StatusData {
  status: JobStatus;
  attempt?: number;
  workerId?: string;
  error?: string;
  [key: string]: unknown;
}

interface EventBase<K extends string, D> {
  /** The event's seq as sent in `id:` (null on a snapshot sent after `lastEventId`). */
  id: string | null;
  kind: K;
  data: D;
}

/**
 * One event of `watch`: first a `snapshot` (the job as it is), then the job's events in order, the last one
 * final (`completed`, `failed` or `cancelled`, whose data is the finished job).
 */
export type JobEvent =
  | EventBase<"snapshot", Job>
  | EventBase<"status", StatusData>
  | EventBase<"progress", ProgressData>
  | EventBase<"log", LogData>
  | EventBase<"token", TokenData>
  | EventBase<"completed" | "failed" | "cancelled", Job>;

export type JobEventKind = JobEvent["kind"];

export interface WatchOptions {
  /** Resume after this event (its `id`); "0" replays the whole log after the snapshot. */
  lastEventId?: string | null;
  /** Stops the watch (the loop ends without an error). */
  signal?: AbortSignal;
  /** Reconnects in a row before giving up (default 5). */
  maxReconnects?: number;
}

export interface WaitOptions {
  /** How long the server waits for the job to end (at most 300). */
  timeoutSeconds?: number;
}
