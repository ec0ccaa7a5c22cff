import OffloadCore
import Synchronization

/// Turns concurrent calls into batches: callers queue a request and wait; one loop takes everything queued
/// and hands it to `process` at once, so N concurrent calls cost one transaction, not N.
///
/// Nothing waits for a batch to fill: an idle loop processes the first request at once, and the requests
/// that arrive meanwhile form the next batch (the same shape as the SQLite store's group commit).
final class WriteBatcher<Request: Sendable, Response: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Response, any Error>

    private struct State {
        var queued: [(Request, Waiter)] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let arrived = WakeSignal()
    private let maxBatch: Int

    init(maxBatch: Int) {
        self.maxBatch = maxBatch
    }

    /// Queues a request (it waits for the loop if the loop has not started yet) and answers its result.
    func submit(_ request: Request) async throws -> Response {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let accepted = state.withLock { s -> Bool in
                guard !s.closed else { return false }
                s.queued.append((request, waiter))
                return true
            }
            if accepted {
                arrived.fire()
            } else {
                waiter.resume(throwing: OffloadError.unavailable("the store is shutting down"))
            }
        }
    }

    /// Processes batches until cancelled; `process` answers one result per request, in order. What is still
    /// queued when the loop ends is failed as unavailable.
    func run(_ process: @Sendable ([Request]) async -> [Result<Response, any Error>]) async {
        while !Task.isCancelled {
            let generation = arrived.generation
            let batch = state.withLock { s -> [(Request, Waiter)] in
                let taken = Array(s.queued.prefix(maxBatch))
                s.queued.removeFirst(taken.count)
                return taken
            }
            if batch.isEmpty {
                await arrived.wait(since: generation)
                continue
            }
            let results = await process(batch.map(\.0))
            for (index, (_, waiter)) in batch.enumerated() {
                waiter.resume(with: index < results.count
                    ? results[index] : .failure(OffloadError.unavailable("the write was not processed")))
            }
        }
        let left = state.withLock { s -> [(Request, Waiter)] in
            s.closed = true
            defer { s.queued.removeAll() }
            return s.queued
        }
        for (_, waiter) in left { waiter.resume(throwing: OffloadError.unavailable("the store is shutting down")) }
    }
}
