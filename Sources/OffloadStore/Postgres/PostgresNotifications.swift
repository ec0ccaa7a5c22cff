import Foundation
import Logging
import OffloadCore
import Synchronization

/// What one server tells the others after its commits: coalesced NOTIFYs on one channel.
///
/// A NOTIFY takes a database-wide lock while its transaction commits, so no write notifies inside its own
/// transaction. Writes record here what they changed, and `run` sends at most one notification per `window`
/// carrying all of it: that work became available, the seq range by which each job's event log grew, and
/// cancel requests. Events themselves stay in the table; a server with followers reads each range once.
final class PostgresNotifier: Sendable {
    static let channel = "offload_events"
    /// PostgreSQL refuses payloads of 8,000 bytes or more; stay well below.
    static let maxPayload = 7_000

    private let origin: String
    private let window: Duration
    private let pending = Mutex(Notice())
    private let recorded = WakeSignal()

    init(origin: String, window: Duration) {
        self.origin = origin
        self.window = window
    }

    /// Notes what a committed write changed; it goes out with the next notification.
    func record(_ effects: WriteEffects) {
        guard effects.workAvailable || !effects.events.isEmpty || !effects.cancelRequests.isEmpty else { return }
        pending.withLock { notice in
            notice.work = notice.work || effects.workAvailable
            for event in effects.events {
                if let range = notice.ranges[event.jobId] {
                    notice.ranges[event.jobId] = min(range.lowerBound, event.seq)...max(range.upperBound, event.seq)
                } else {
                    notice.ranges[event.jobId] = event.seq...event.seq
                }
            }
            notice.cancels += effects.cancelRequests
        }
        recorded.fire()
    }

    /// Sends what was recorded, at most once per window, until cancelled. A send that fails is dropped:
    /// listeners catch up by themselves when they reconnect.
    func run(logger: Logger, send: @Sendable (String) async throws -> Void) async {
        while !Task.isCancelled {
            let generation = recorded.generation
            let notice = pending.withLock { notice in
                defer { notice = Notice() }
                return notice
            }
            guard !notice.isEmpty else {
                await recorded.wait(since: generation)
                continue
            }
            let started = ContinuousClock.now
            for payload in notice.payloads(origin: origin, limit: Self.maxPayload) {
                do {
                    try await send(payload)
                } catch {
                    logger.debug("notify failed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(until: started + window)
        }
    }
}

/// The content of one notification (or of several, when it is too long for one).
struct Notice: Sendable, Equatable {
    /// The server that committed the changes; it ignores its own notices.
    var origin = ""
    var work = false
    var ranges: [String: ClosedRange<Int64>] = [:]
    var cancels: [String] = []

    var isEmpty: Bool { !work && ranges.isEmpty && cancels.isEmpty }

    /// JSON payloads of at most `limit` bytes each: `{"o", "w", "e": [[jobId, fromSeq, toSeq]], "c": [jobId]}`.
    func payloads(origin: String, limit: Int) -> [String] {
        var payloads: [String] = []
        var current: [String: JSONValue] = ["o": .string(origin)]
        var entries: [JSONValue] = []
        var size = origin.utf8.count + 32
        func flush() {
            if !entries.isEmpty { current["e"] = .array(entries) }
            payloads.append(JSONValue.object(current).jsonString())
            current = ["o": .string(origin)]
            entries = []
            size = origin.utf8.count + 32
        }
        if work { current["w"] = true }
        var cancelList: [JSONValue] = []
        for id in cancels {
            let cost = id.utf8.count + 4
            if size + cost > limit {
                current["c"] = .array(cancelList)
                cancelList = []
                flush()
            }
            cancelList.append(.string(id))
            size += cost
        }
        if !cancelList.isEmpty { current["c"] = .array(cancelList) }
        for (id, range) in ranges.sorted(by: { $0.key < $1.key }) {
            let cost = id.utf8.count + 48
            if size + cost > limit { flush() }
            entries.append([.string(id), .int(range.lowerBound), .int(range.upperBound)])
            size += cost
        }
        if !entries.isEmpty || current.count > 1 || payloads.isEmpty { flush() }
        return payloads
    }

    /// Reads a payload; nil when it is not one of ours.
    init?(payload: String) {
        guard let json = try? JSONValue.parse(payload), let origin = json["o"]?.stringValue else { return nil }
        self.origin = origin
        work = json["w"]?.boolValue ?? false
        for entry in json["e"]?.arrayValue ?? [] {
            guard let parts = entry.arrayValue, parts.count == 3, let id = parts[0].stringValue,
                let from = parts[1].intValue, let to = parts[2].intValue, from <= to
            else { continue }
            ranges[id] = from...to
        }
        cancels = json["c"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    init() {}
}
