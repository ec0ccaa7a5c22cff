// POST /api/jobs/{id}/token (in your Next.js app): a fresh stream token, for a stream that outlives one.
// Check here that the signed-in user owns the job before handing one out.
import { streamToken } from "../../route";

export async function POST(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  try {
    return Response.json({ streamToken: await streamToken(id) });
  } catch {
    return Response.json({ error: "no such job" }, { status: 404 });
  }
}
