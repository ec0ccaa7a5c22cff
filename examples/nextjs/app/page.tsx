"use client";
// A prompt box and the LLM's answer as it streams: useSubmit posts to our route, useJob follows the job.
import { useJob, useSubmit } from "@offload/client/react";
import { useState } from "react";

const OFFLOAD_URL = process.env.NEXT_PUBLIC_OFFLOAD_URL!;

export default function Page() {
  const [prompt, setPrompt] = useState("");
  const { submit, jobId, streamToken, submitting, error: submitError } = useSubmit<{ prompt: string }>();
  const job = useJob(jobId, {
    baseUrl: OFFLOAD_URL,
    streamToken: streamToken ?? "",
    getStreamToken: async () => (await (await fetch(`/api/jobs/${jobId}/token`, { method: "POST" })).json()).streamToken,
  });

  return (
    <main>
      <form onSubmit={(e) => { e.preventDefault(); void submit({ prompt }); }}>
        <textarea value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <button disabled={submitting || !prompt}>Ask</button>
      </form>
      {submitError && <p role="alert">{submitError.message}</p>}
      {jobId && <p>{job.status ?? "connecting"} · {job.progress}%</p>}
      <pre>{job.text}</pre>
      {job.error && <p role="alert">{job.error}</p>}
    </main>
  );
}
