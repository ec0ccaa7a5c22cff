// POST /api/jobs (in your Next.js app): submit a job to Offload with the API key, server-side.
// The browser gets the job id and a stream token that can only read this one job.
const OFFLOAD_URL = process.env.OFFLOAD_URL!;
const OFFLOAD_API_KEY = process.env.OFFLOAD_API_KEY!; // a client key; never sent to the browser

export async function POST(request: Request) {
  const { prompt } = await request.json();
  if (typeof prompt !== "string" || prompt.length === 0 || prompt.length > 10_000) {
    return Response.json({ error: "prompt must be a non-empty string" }, { status: 400 });
  }
  const submitted = await fetch(`${OFFLOAD_URL}/api/jobs`, {
    method: "POST",
    headers: { "X-API-Key": OFFLOAD_API_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({
      processingType: "llm.chat",
      data: { messages: [{ role: "user", content: prompt }] },
      // A retried request from the browser must not start the job twice.
      options: { idempotencyKey: request.headers.get("Idempotency-Key") ?? undefined, timeoutSeconds: 300 },
    }),
  });
  if (!submitted.ok) {
    return Response.json({ error: "the job could not be submitted" }, { status: 502 });
  }
  const job = await submitted.json();
  const token = await streamToken(job.jobId);
  return Response.json({ jobId: job.jobId, streamToken: token }, { status: 201 });
}

/** A 5-minute token that reads only `jobId` (its SSE stream and events). */
export async function streamToken(jobId: string): Promise<string> {
  const answer = await fetch(`${OFFLOAD_URL}/api/jobs/${encodeURIComponent(jobId)}/stream-token`, {
    method: "POST",
    headers: { "X-API-Key": OFFLOAD_API_KEY },
  });
  if (!answer.ok) throw new Error(`stream token: HTTP ${answer.status}`);
  return (await answer.json()).token;
}
