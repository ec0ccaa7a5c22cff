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
        router.get("/api/sse/job-progress/{id}", use: follow)
    }

    /// `GET /api/sse/job-progress/{id}`.
    @Sendable func follow(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let id = try context.path("id")
        let identity = try context.requireReader(of: id)
        return try await stream(jobId: id, identity: identity, after: try resumePoint(request))
    }

    private func resumePoint(_ request: Request) throws -> Int64? {
        guard let text = request.headers[.lastEventID] ?? request.uri.queryParameters["lastEventId"].map(String.init)
        else { return nil }
        guard let seq = Int64(text.trimmingCharacters(in: .whitespaces)), seq >= 0 else {
            throw OffloadError.badRequest("Last-Event-ID must be an event seq")
        }
        return seq
    }

    /// A stream being set up: the job's events are followed on the bus (and a stream of the key's quota is
    /// held) before anything is read, so an event committed in between arrives twice and is dropped by seq,
    /// never lost.
    private struct Opened: Sendable {
        let token: EventBus.Token
        let items: AsyncStream<Item>
        let continuation: AsyncStream<Item>.Continuation
        let ended: @Sendable () -> Void

        /// Gives up a stream that will not be answered.
        func close(_ bus: EventBus) {
            bus.unfollow(token)
            continuation.finish()
            ended()
        }
    }

    private func open(jobId: String, keyId: String) throws -> Opened {
        guard quota.acquire(keyId) else { throw OffloadError.rateLimited(retryAfterSeconds: 1) }
        let (items, continuation) = AsyncStream.makeStream(of: Item.self)
        let token = store.eventBus.follow(jobId: jobId) { delivery in
            switch delivery {
            case .event(let event): continuation.yield(.event(event))
            case .closed: continuation.finish()
            }
        }
        return Opened(token: token, items: items, continuation: continuation) { [quota] in quota.release(keyId) }
    }

    /// The SSE response for one job: its snapshot, then the events after `after` (nil: after the snapshot).
    /// Each key may hold `quota` streams open at once (429 past it).
    func stream(jobId: String, identity: Identity, after: Int64?) async throws -> Response {
        let opened = try open(jobId: jobId, keyId: identity.keyId)
        do {
            guard let snapshot = try await store.snapshot(jobId: jobId, tenant: identity.tenantFilter, after: after, limit: 1_000)
            else { throw OffloadError.notFound("no job \(jobId)") }
            return respond(opened, jobId: jobId, snapshot: snapshot, after: after)
        } catch {
            opened.close(store.eventBus)
            throw error
        }
    }

    /// `POST /api/jobs?stream=true`: follows the job before `submit` stores it, so everything its commits
    /// publish from the first on (its first event, the lease that follows) reaches the stream through the bus;
    /// the job as stored is the snapshot, without reading it back. A repeated idempotency key answers the
    /// earlier job's stream, read as usual.
    func submitAndStream(jobId: String, identity: Identity, submit: () async throws -> SubmitOutcome) async throws -> Response {
        let opened = try open(jobId: jobId, keyId: identity.keyId)
        let outcome: SubmitOutcome
        do {
            outcome = try await submit()
        } catch {
            opened.close(store.eventBus)
            throw error
        }
        guard outcome.created, outcome.job.jobId == jobId else {
            opened.close(store.eventBus)
            return try await stream(jobId: outcome.job.jobId, identity: identity, after: nil)
        }
        // A new job's own write is its event 1 (PENDING, or `completed` for a cached result).
        return respond(opened, jobId: jobId, snapshot: JobSnapshot(job: outcome.job, lastSeq: 1, events: []), after: nil)
    }

    private func respond(_ opened: Opened, jobId: String, snapshot: JobSnapshot, after: Int64?) -> Response {
        let bus = store.eventBus
        let items = opened.items
        let store = self.store
        let keepAlive = self.keepAlive
        let headers: HTTPFields = [
            .contentType: "text/event-stream",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { opened.close(bus) }
            // A Last-Event-ID beyond the log (from another job, or made up) resumes at the log's end.
            var lastSent = min(after ?? snapshot.lastSeq, snapshot.lastSeq)
            try await writer.write(Self.frame(
                id: after == nil ? snapshot.lastSeq : nil, event: "snapshot", data: snapshot.job.jsonValue))
            var pending = snapshot.events
            var finished = false
            // The backlog, page by page, until caught up. A page that does not continue the stream (a gap no
            // store should leave: a job written by a newer binary, read by an older one) ends the backlog
            // instead of reading the same page again and again; the live part still fills gaps it can.
            var progressed = true
            while !pending.isEmpty && !finished && progressed {
                let before = lastSent
                defer { progressed = lastSent > before }
                for event in pending where event.seq == lastSent + 1 {
                    try await writer.write(Self.frame(event))
                    lastSent = event.seq
                    // A final event followed by more (the job was retried) does not end the stream.
                    finished = event.kind.isFinal && event.seq >= snapshot.lastSeq
                    if finished { break }
                }
                pending = finished ? [] : try await store.events(jobId: jobId, after: lastSent, limit: 1_000)
            }
            if !finished && snapshot.job.status.isFinal && (lastSent >= snapshot.lastSeq || !progressed) {
                finished = true
            }
            if !finished {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepAlive)
                            opened.continuation.yield(.keepAlive)
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
