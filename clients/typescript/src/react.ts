// React hooks over the client: `useJob` follows a job live, `useSubmit` starts one. React is a peer dependency.
import React from "react";
import { Offload } from "./client.js";
import { OffloadError } from "./errors.js";
import type { Job, JobEvent, JobStatus, LogData, SubmitOptions } from "./types.js";

/** Where `useJob` reads the job from: a client of yours, or the server and a stream token for this job. */
export type UseJobSource =
  | { client: Offload; replay?: boolean; keepEvents?: number }
  | {
    baseUrl: string;
    streamToken: string;
    /** Called for a fresh token when the stream is cut (stream tokens last 5 minutes): your own route. */
    getStreamToken?: () => Promise<string>;
    fetch?: typeof fetch;
    /** Replay the job's whole log (tokens and log lines from before the page opened); default true. */
    replay?: boolean;
    /** How many of the latest events `events` keeps (default 500). */
    keepEvents?: number;
  };

/** What `useJob` knows of the job, updated with every event. */
export interface JobView {
  /** The job as last seen whole (the snapshot, then the final event). */
  job: Job | null;
  status: JobStatus | null;
  progress: number;
  /** The `token` events' text so far (LLM output). */
  text: string;
  logs: LogData[];
  result: unknown;
  /** The job's error, when it failed. */
  error: string | null;
  /** The latest events, oldest first. */
  events: JobEvent[];
  /** The final event has come. */
  done: boolean;
  /** Why the stream stopped early (after its reconnects), if it did. */
  streamError: OffloadError | null;
}

const EMPTY: JobView = {
  job: null, status: null, progress: 0, text: "", logs: [], result: undefined, error: null, events: [], done: false,
  streamError: null,
};

type Action = { type: "reset" } | { type: "event"; event: JobEvent; keep: number } | { type: "failed"; error: OffloadError };

function fromJob(view: JobView, job: Job): JobView {
  return { ...view, job, status: job.status, progress: job.progress, result: job.result, error: job.error ?? null };
}

/** The view after one event; pure, so tests can drive it without React. */
export function reduceJobView(view: JobView, action: Action): JobView {
  switch (action.type) {
    case "reset": return EMPTY;
    case "failed": return { ...view, streamError: action.error };
    case "event": {
      const { event } = action;
      const events = [...view.events, event];
      if (events.length > action.keep) events.splice(0, events.length - action.keep);
      const next = { ...view, events };
      switch (event.kind) {
        case "snapshot": return fromJob(next, event.data);
        case "status": return { ...next, status: event.data.status };
        case "progress": return { ...next, progress: event.data.progress };
        case "token": return { ...next, text: next.text + event.data.text };
        case "log": return { ...next, logs: [...next.logs, event.data] };
        default: return { ...fromJob(next, event.data), done: true };
      }
    }
  }
}

/**
 * Follows a job live: its status, progress, LLM text and log lines, its result or error. The stream resumes
 * after a cut without losing or repeating an event; a new `jobId` starts over; `null` follows nothing.
 */
export function useJob(jobId: string | null | undefined, source: UseJobSource): JobView {
  const [view, dispatch] = React.useReducer(reduceJobView, EMPTY);
  const sourceRef = React.useRef(source);
  sourceRef.current = source;
  const client = "client" in source ? source.client : null;
  const baseUrl = "baseUrl" in source ? source.baseUrl : null;
  const streamToken = "streamToken" in source ? source.streamToken : null;

  React.useEffect(() => {
    dispatch({ type: "reset" });
    if (!jobId) return;
    const current = sourceRef.current;
    const keep = current.keepEvents ?? 500;
    let reader: Offload;
    if ("client" in current) {
      reader = current.client;
    } else {
      let first = true;
      reader = new Offload({
        baseUrl: current.baseUrl,
        fetch: current.fetch,
        tokenInQuery: typeof document !== "undefined",
        getToken: async () => {
          const latest = sourceRef.current;
          if (first || !("getStreamToken" in latest) || !latest.getStreamToken) {
            first = false;
            return "streamToken" in latest ? latest.streamToken : current.streamToken;
          }
          return latest.getStreamToken();
        },
      });
    }
    const controller = new AbortController();
    (async () => {
      try {
        const lastEventId = current.replay === false ? null : "0";
        for await (const event of reader.watch(jobId, { lastEventId, signal: controller.signal })) {
          dispatch({ type: "event", event, keep });
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        dispatch({
          type: "failed",
          error: error instanceof OffloadError ? error : new OffloadError(0, "network_error", String(error)),
        });
      }
    })();
    return () => controller.abort();
  }, [jobId, client, baseUrl, streamToken]);

  return view;
}

/** What `useSubmit` answers: `submit`, and the state of the last submit. */
export interface SubmitState<Input> {
  submit: (input: Input) => Promise<SubmittedJob>;
  jobId: string | null;
  streamToken: string | null;
  job: Job | null;
  submitting: boolean;
  error: OffloadError | null;
  reset: () => void;
}

/** A submitted job as your route answers it (`jobId`, and a stream token for the browser), or as the server does. */
export interface SubmittedJob {
  jobId: string;
  streamToken?: string;
  job?: Job;
}

/** The input of `useSubmit` with a client: what `client.submit` takes. */
export interface JobInput {
  processingType: string;
  data?: unknown;
  options?: SubmitOptions;
}

/**
 * Starts a job from a component. In a browser the API key stays on your server: by default `submit(input)`
 * POSTs `input` as JSON to your own route (`endpoint`, default `/api/jobs`), which submits the job and answers
 * `{jobId, streamToken}`. With `{ client }` (a server component, a test, a trusted app) it submits directly.
 */
export function useSubmit<Input = unknown>(
  options?: { endpoint?: string; fetch?: typeof fetch; headers?: Record<string, string> },
): SubmitState<Input>;
export function useSubmit(options: { client: Offload }): SubmitState<JobInput>;
export function useSubmit(
  options: { client?: Offload; endpoint?: string; fetch?: typeof fetch; headers?: Record<string, string> } = {},
): SubmitState<unknown> {
  const [state, setState] = React.useState<{
    jobId: string | null; streamToken: string | null; job: Job | null; submitting: boolean; error: OffloadError | null;
  }>({ jobId: null, streamToken: null, job: null, submitting: false, error: null });
  const optionsRef = React.useRef(options);
  optionsRef.current = options;

  const submit = React.useCallback(async (input: unknown): Promise<SubmittedJob> => {
    setState((s) => ({ ...s, submitting: true, error: null }));
    try {
      const { client, endpoint = "/api/jobs", fetch: given, headers } = optionsRef.current;
      let submitted: SubmittedJob;
      if (client) {
        const { processingType, data, options: jobOptions } = input as JobInput;
        const job = await client.submit(processingType, data, jobOptions);
        submitted = { jobId: job.jobId, job };
      } else {
        const answer = await (given ?? fetch)(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...headers },
          body: JSON.stringify(input),
        });
        if (!answer.ok) throw await OffloadError.from(answer);
        submitted = await answer.json();
        if (typeof submitted?.jobId !== "string") throw new OffloadError(answer.status, "bad_answer", "the answer has no jobId");
      }
      setState({
        jobId: submitted.jobId, streamToken: submitted.streamToken ?? null, job: submitted.job ?? null, submitting: false,
        error: null,
      });
      return submitted;
    } catch (error) {
      const failure = error instanceof OffloadError ? error : new OffloadError(0, "network_error", String(error));
      setState((s) => ({ ...s, submitting: false, error: failure }));
      throw failure;
    }
  }, []);

  const reset = React.useCallback(() => {
    setState({ jobId: null, streamToken: null, job: null, submitting: false, error: null });
  }, []);

  return { ...state, submit, reset };
}
