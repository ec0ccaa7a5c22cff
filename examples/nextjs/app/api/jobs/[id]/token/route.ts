// POST /api/jobs/{id}/token: a fresh stream token (they last 5 minutes), for a stream that outlives one.
// Check here that the signed-in user owns the job before handing one out.
import { json, offload } from "../../../../../lib/offload";

export async function POST(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  try {
    const { token } = await offload.streamToken(id);
    return json({ streamToken: token });
  } catch {
    return json({ error: "no such job" }, 404);
  }
}
