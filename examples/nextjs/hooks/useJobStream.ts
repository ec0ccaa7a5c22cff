"use client";
// Follows an Offload job live over Server-Sent Events with a stream token (EventSource cannot send
// headers, so the token goes in the URL; it can read only this job). After a drop it reconnects with
// exponential backoff (at most 5 attempts in a row) and resumes after the last event it saw.
import { useEffect, useState } from "react";

const OFFLOAD_URL = process.env.NEXT_PUBLIC_OFFLOAD_URL!;

export type JobView = {
  status: string;
  progress: number;
  text: string; // llm.chat tokens so far
  logs: string[];
  result?: unknown;
  error?: string;
};

export function useJobStream(jobId: string | null, firstToken: string | null): JobView {
  const [view, setView] = useState<JobView>({ status: "PENDING", progress: 0, text: "", logs: [] });

  useEffect(() => {
    if (!jobId || !firstToken) return;
    let token = firstToken;
    let lastEventId: string | null = null;
    let failures = 0;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;

    const open = () => {
      const url = new URL(`${OFFLOAD_URL}/api/sse/job-progress/${encodeURIComponent(jobId)}`);
      url.searchParams.set("token", token);
      if (lastEventId) url.searchParams.set("lastEventId", lastEventId);
      source = new EventSource(url);
      const seen = (event: MessageEvent) => {
        failures = 0;
        if (event.lastEventId) lastEventId = event.lastEventId;
        return JSON.parse(event.data);
      };
      source.addEventListener("snapshot", (e) => {
        const job = seen(e as MessageEvent);
        setView((v) => ({ ...v, status: job.status, progress: job.progress, result: job.result, error: job.error }));
      });
      source.addEventListener("status", (e) => {
        const data = seen(e as MessageEvent);
        setView((v) => ({ ...v, status: data.status }));
      });
      source.addEventListener("progress", (e) => {
        const data = seen(e as MessageEvent);
        setView((v) => ({ ...v, progress: data.progress }));
      });
      source.addEventListener("token", (e) => {
        const data = seen(e as MessageEvent);
        setView((v) => ({ ...v, text: v.text + data.text }));
      });
      source.addEventListener("log", (e) => {
        const data = seen(e as MessageEvent);
        setView((v) => ({ ...v, logs: [...v.logs, `[${data.stream}] ${data.line}`] }));
      });
      for (const kind of ["completed", "failed", "cancelled"]) {
        source.addEventListener(kind, (e) => {
          const job = seen(e as MessageEvent);
          setView((v) => ({ ...v, status: job.status, progress: job.progress, result: job.result, error: job.error }));
          closed = true;
          source?.close();
        });
      }
      source.onerror = async () => {
        // The server closes the stream after the final event; anything else is a drop.
        source?.close();
        if (closed || ++failures > 5) return;
        // The token may have expired (5 minutes): get a fresh one from our own route, then resume.
        const fresh = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/token`, { method: "POST" });
        if (fresh.ok) token = (await fresh.json()).streamToken;
        timer = setTimeout(open, 250 * 2 ** (failures - 1));
      };
    };
    open();
    return () => {
      closed = true;
      clearTimeout(timer);
      source?.close();
    };
  }, [jobId, firstToken]);

  return view;
}
