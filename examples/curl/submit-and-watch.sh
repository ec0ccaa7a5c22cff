#!/usr/bin/env bash
# Submit a job and follow it live with curl only.
#   OFFLOAD_URL=http://127.0.0.1:8080 OFFLOAD_API_KEY=ok_… ./submit-and-watch.sh type1 '[{"id":1,"name":"a"}]'
# Prints each SSE event as it arrives, then the finished job; exits 1 unless it COMPLETED.
set -euo pipefail
url="${OFFLOAD_URL:-http://127.0.0.1:8080}"
key="${OFFLOAD_API_KEY:?set OFFLOAD_API_KEY}"
type="${1:-type1}"
default_data='[{"id": 1, "name": "item1"}]'
data="${2:-$default_data}"

# The key is exchanged once for a JWT (30 minutes); later calls send only the token.
token=$(curl -sf -X POST "$url/api/auth/token" -H "X-API-Key: $key" | sed -E 's/.*"token":"([^"]+)".*/\1/')
job=$(curl -sf -X POST "$url/api/jobs" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"processingType\": \"$type\", \"data\": $data}")
id=$(printf '%s' "$job" | sed -E 's/.*"jobId":"([^"]+)".*/\1/')
echo "submitted $id"

# -N: no buffering, each event as it comes; the server ends the stream after the final event.
curl -sfN "$url/api/sse/job-progress/$id" -H "Authorization: Bearer $token" -H 'Accept: text/event-stream' |
  while IFS= read -r line; do
    case "$line" in event:*) printf '%s ' "${line#event: }" ;; data:*) echo "${line#data: }" ;; esac
  done

final=$(curl -sf "$url/api/jobs/$id" -H "Authorization: Bearer $token")
status=$(printf '%s' "$final" | sed -E 's/.*"status":"([A-Z]+)".*/\1/')
echo "$status"
[ "$status" = "COMPLETED" ]
