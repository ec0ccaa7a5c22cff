// Generated from the server's /openapi.json by scripts/gen-types.mjs: do not edit.
// Run `node scripts/gen-types.mjs <server>/openapi.json` after the API changes; a test fails until you do.

export interface ErrorBody {
  error: {
    code: string;
    items?: { [key: string]: unknown }[];
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

export interface JobList {
  jobs: Job[];
  nextCursor: string | null;
}

export interface JobOptions {
  cache?: {
    ttlSeconds: number;
  };
  delaySeconds?: number;
  idempotencyKey?: string;
  labels?: { [key: string]: string };
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
  template?: string;
}

export interface Key {
  createdAt: string;
  id: string;
  name: string;
  role: "client" | "worker" | "admin";
  tenant: string;
}

export type LeasedJob = Job & {
  leaseExpiresAt: string;
  leaseToken: string;
};

export interface Schedule {
  createdAt?: string;
  cron: string;
  data?: unknown;
  name: string;
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
  currentJobs: string[];
  labels: { [key: string]: string };
  lastHeartbeatAt: string;
  maxConcurrentJobs: number;
  name: string;
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
