// POST /api/jobs: the browser posts a prompt; the job is submitted server-side, and the browser gets the job id
// with a stream token that reads only this job.
import { OffloadError } from "@offload/client";
import { json, offload } from "../../../lib/offload";

export async function POST(request: Request) {
  const { prompt } = await request.json();
  if (typeof prompt !== "string" || prompt.length === 0 || prompt.length > 10_000) {
    return json({ error: "prompt must be a non-empty string" }, 400);
  }
  try {
    // A retried request from the browser must not start the job twice (and with a key, the SDK may retry it).
    const idempotencyKey = request.headers.get("Idempotency-Key") ?? undefined;
    const job = await offload.submit("llm.chat", { messages: [{ role: "user", content: prompt }] }, { idempotencyKey, timeoutSeconds: 300 });
    const { token } = await offload.streamToken(job.jobId);
    return json({ jobId: job.jobId, streamToken: token }, 201);
  } catch (error) {
    const status = error instanceof OffloadError && error.status === 429 ? 429 : 502;
    return json({ error: "the job could not be submitted" }, status);
  }
}
