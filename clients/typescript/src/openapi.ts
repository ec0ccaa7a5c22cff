// Generated from the server's /openapi.json by scripts/gen-types.mjs: do not edit.
// Run `node scripts/gen-types.mjs <server>/openapi.json` after the API changes; a test fails until you do.

export interface CacheLifetime {
  ttlSeconds: number;
}

export interface ErrorBody {
  error: {
    items?: { [key: string]: unknown }[];
    code: string;
    message: string;
  };
}

export interface StoredEvent {
  at: string;
  data: unknown;
  jobId: string;
  kind: "status" | "progress" | "log" | "token" | "completed" | "failed" | "cancelled";
  seq: number;
}

export interface EventList {
  events: StoredEvent[];
  nextCursor: string | null;
}

export interface EventReport {
  data?: unknown;
  kind: "progress" | "log" | "token";
}

export type EventReports = EventReport[];

export interface Job {
  attempt: number;
  cachedFrom?: string;
  cancelRequested: boolean;
  completedAt?: string;
  createdAt: string;
  data?: unknown;
  error?: string;
  errors: {
    at: string;
    attempt: number;
    error: string;
  }[];
  idempotencyKey?: string;
  jobId: string;
  maxAttempts: number;
  message?: string;
  options?: { [key: string]: unknown };
  priority: number;
  processingType: string;
  progress: number;
  queue: string;
  result?: unknown;
  runAt: string;
  startedAt?: string;
  status: "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "CANCELLED";
  tenant: string;
  timeoutSeconds?: number;
  workerId?: string;
}

/** The ids of the jobs the worker runs now */
export type JobIds = string[];

export interface JobList {
  jobs: Job[];
  nextCursor: string | null;
}

export interface JobOptions {
  /** Reuse the result of a completed job with the same type and data: true keeps it for a day, or give how long */
  cache?: boolean | CacheLifetime;
  delaySeconds?: number;
  idempotencyKey?: string;
  labels?: Labels;
  maxAttempts?: number;
  mode?: "direct" | "distributed" | "any";
  priority?: number;
  queue?: string;
  runAt?: string;
  timeoutSeconds?: number;
  webhookUrl?: string;
}

export interface JobSubmission {
  data?: unknown;
  options?: JobOptions;
  processingType: string;
  /** A saved template whose fields fill in what the body leaves out */
  template?: string;
}

export interface Key {
  name: string;
  createdAt: string;
  id: string;
  role: "client" | "worker" | "admin";
  tenant: string;
}

export type LabelText = string;

export type LabelValue = LabelText | number | boolean;

/** Labels a worker must carry (on a job) or carries (on a worker) */
export type Labels = { [key: string]: LabelValue };

/** The token the lease came with: a report with any other changes nothing (409) */
export type LeaseToken = string;

export type LeasedJob = Job & {
  leaseExpiresAt: string;
  leaseToken: LeaseToken;
};

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface QueueState {
  paused: boolean;
  queue: string;
}

export interface Schedule {
  name: string;
  createdAt?: string;
  cron: string;
  data?: unknown;
  nextRunAt: string;
  options?: { [key: string]: unknown };
  processingType: string;
  queue?: string;
  tenant?: string;
}

/** One event of a job's stream (OpenAPI 3.1: the schema of each event): `id` is the event's seq (absent on a snapshot sent after Last-Event-ID), `data` the event's JSON; keep-alive comments carry no event */
export interface ServerSentEvent {
  data: string;
  event: "snapshot" | "status" | "progress" | "log" | "token" | "completed" | "failed" | "cancelled";
  id?: string;
}

export interface Worker {
  name: string;
  currentJobs: string[];
  labels: { [key: string]: string };
  lastHeartbeatAt: string;
  maxConcurrentJobs: number;
  processingTypes: string[];
  registeredAt: string;
  status: "active" | "paused" | "draining" | "offline";
  workerId: string;
}

export interface AuthToken {
  expiresIn: number;
  token: string;
}

export interface StreamToken {
  expiresIn: number;
  token: string;
  url: string;
}
