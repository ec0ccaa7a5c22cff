import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OffloadCore
import OffloadStore
import Synchronization

/// `GET /api/sse/job-progress/{id}`: a `snapshot` first, then every new event with `id: <seq>`, keep-alive
/// comments, and the end of the stream after the final event. `Last-Event-ID` resumes exactly after that seq.
struct JobEventStream {
    let store: any JobStore
    let keepAlive: Duration
    let quota: StreamQuota

    private enum Item: Sendable {
        case event(JobEvent)
        case keepAlive
    }

    func register(on router: RouterGroup<OffloadRequestContext>) {
        router.get("/api/sse/job-progress/{id}") { request, context -> Response in
            let id = try context.parameters.require("id")
            let identity = try context.requireReader(of: id)
            return try await stream(jobId: id, identity: identity, after: try resumePoint(request))
        }
    }

    private func resumePoint(_ request: Request) throws -> Int64? {
        guard let text = request.headers[.lastEventID] ?? request.uri.queryParameters["lastEventId"].map(String.init)
        else { return nil }
        guard let seq = Int64(text.trimmingCharacters(in: .whitespaces)), seq >= 0 else {
            throw OffloadError.badRequest("Last-Event-ID must be an event seq")
        }
        return seq
    }

    /// The SSE response for one job: its snapshot, then the events after `after` (nil: after the snapshot).
    /// Each key may hold `quota` streams open at once (429 past it).
    func stream(jobId: String, identity: Identity, after: Int64?) async throws -> Response {
        guard quota.acquire(identity.keyId) else {
            throw OffloadError.rateLimited(retryAfterSeconds: 1)
        }
        do {
            return try await stream(jobId: jobId, tenant: identity.tenantFilter, after: after) { [quota] in
                quota.release(identity.keyId)
            }
        } catch {
            quota.release(identity.keyId)
            throw error
        }
    }

    private func stream(jobId: String, tenant: String?, after: Int64?, ended: @escaping @Sendable () -> Void) async throws
        -> Response
    {
        let bus = store.eventBus
        let (items, continuation) = AsyncStream.makeStream(of: Item.self)
        // Follow before reading the backlog: an event committed in between arrives twice and is dropped by seq.
        let token = bus.follow(jobId: jobId) { delivery in
            switch delivery {
            case .event(let event): continuation.yield(.event(event))
            case .closed: continuation.finish()
            }
        }
        let snapshot: JobSnapshot
        do {
            guard let found = try await store.snapshot(jobId: jobId, tenant: tenant, after: after, limit: 1_000) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            snapshot = found
        } catch {
            bus.unfollow(token)
            throw error
        }
        let store = self.store
        let keepAlive = self.keepAlive
        let headers: HTTPFields = [
            .contentType: "text/event-stream",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                bus.unfollow(token)
                continuation.finish()
                ended()
            }
            // A Last-Event-ID beyond the log (from another job, or made up) resumes at the log's end.
            var lastSent = min(after ?? snapshot.lastSeq, snapshot.lastSeq)
            try await writer.write(Self.frame(
                id: after == nil ? snapshot.lastSeq : nil, event: "snapshot", data: snapshot.job.jsonValue))
            var pending = snapshot.events
            var finished = false
            // The backlog, page by page, until caught up.
            while !pending.isEmpty && !finished {
                for event in pending where event.seq == lastSent + 1 {
                    try await writer.write(Self.frame(event))
                    lastSent = event.seq
                    // A final event followed by more (the job was retried) does not end the stream.
                    finished = event.kind.isFinal && event.seq >= snapshot.lastSeq
                    if finished { break }
                }
                pending = finished ? [] : try await store.events(jobId: jobId, after: lastSent, limit: 1_000)
            }
            if !finished && snapshot.job.status.isFinal && lastSent >= snapshot.lastSeq {
                finished = true
            }
            if !finished {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepAlive)
                            continuation.yield(.keepAlive)
                        }
                    }
                    defer { group.cancelAll() }
                    for await item in items {
                        switch item {
                        case .keepAlive:
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        case .event(let event):
                            guard event.seq > lastSent else { continue }
                            var batch = [event]
                            if event.seq > lastSent + 1 {
                                // Never skip: fetch whatever the bus did not bring.
                                batch = try await store.events(jobId: jobId, after: lastSent, limit: Int(event.seq - lastSent))
                            }
                            for event in batch where event.seq == lastSent + 1 {
                                try await writer.write(Self.frame(event))
                                lastSent = event.seq
                                if event.kind.isFinal { return }
                            }
                        }
                    }
                }
            }
            try await writer.finish(nil)
        })
    }

    static func frame(_ event: JobEvent) -> ByteBuffer {
        frame(id: event.seq, event: event.kind.rawValue, data: event.data)
    }

    static func frame(id: Int64?, event: String, data: JSONValue) -> ByteBuffer {
        var bytes: [UInt8] = []
        if let id { bytes += Array("id: \(id)\n".utf8) }
        bytes += Array("event: \(event)\ndata: ".utf8)
        bytes += data.jsonBytes()
        bytes += Array("\n\n".utf8)
        return ByteBuffer(bytes: bytes)
    }
}

/// Open SSE streams per key, capped (`--max-streams-per-key`): one key cannot hold the server's connections.
final class StreamQuota: Sendable {
    let limit: Int
    private let open = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts one more stream for `key`; false (and nothing counted) when it already holds `limit`.
    func acquire(_ key: String) -> Bool {
        open.withLock { open in
            guard open[key, default: 0] < limit else { return false }
            open[key, default: 0] += 1
            return true
        }
    }

    func release(_ key: String) {
        open.withLock { open in
            let left = open[key, default: 1] - 1
            open[key] = left > 0 ? left : nil
        }
    }

    /// Streams open now, over all keys.
    var total: Int { open.withLock { $0.values.reduce(0, +) } }
}
