import OffloadCore
import OffloadProcessing
import Synchronization

/// Sends a processor's high-rate events (log lines, tokens) to its job while it runs: each one goes out at
/// once when no report is on its way, and whatever piles up meanwhile goes in the next report. So a slow
/// stream costs no delay and a fast one costs few reports, and no event waits for a timer or is dropped.
public enum EventForwarder {
    /// Runs `body` with a `send` that never blocks; returns once every sent event was reported.
    public static func forward<T: Sendable>(
        to job: JobContext, _ body: (@escaping @Sendable (EventReport) -> Void) async throws -> T
    ) async throws -> T {
        let pending = Mutex<[EventReport]>([])
        // One buffered tick at most: the events themselves wait in `pending`.
        let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let sender = Task {
            for await _ in ticks {
                let batch = pending.withLock { batch -> [EventReport] in
                    defer { batch.removeAll() }
                    return batch
                }
                if !batch.isEmpty { try await job.report(batch) }
            }
        }
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body { event in
                pending.withLock { $0.append(event) }
                tick.yield()
            })
        } catch {
            outcome = .failure(error)
        }
        tick.finish()
        if case .failure = outcome {
            sender.cancel()
            _ = await sender.result
        } else {
            try await sender.value
        }
        return try outcome.get()
    }
}
