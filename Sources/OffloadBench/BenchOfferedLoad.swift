import Foundation
import Histogram
import OffloadCore
import Synchronization

/// Submit latency under a fixed offered load: requests leave on a fixed schedule whatever the answers do
/// (an open loop), and each latency counts from the moment its request was due, so a server that falls
/// behind shows it in the figure instead of slowing the generator down (no coordinated omission).
extension Bench {
    func measureOfferedLoad(submit: @escaping @Sendable () async throws -> Void, report: inout [String: JSONValue]) async throws {
        var figures: [String: JSONValue] = [:]
        for rate in offeredRates where rate > 0 {
            let count = max(1, Int(offeredSeconds * Double(rate)))
            let interval = Duration.nanoseconds(Int64(1e9 / Double(rate)))
            let start = ContinuousClock.now + .milliseconds(10)
            let results = LatencyRecorder()
            var peakRSS = Self.residentMegabytes() ?? 0
            await withDiscardingTaskGroup { group in
                for n in 0..<count {
                    let due = start + interval * n
                    try? await Task.sleep(until: due, clock: .continuous)
                    group.addTask {
                        do {
                            try await submit()
                            let elapsed = self.micros(ContinuousClock.now - due)
                            results.state.withLock { _ = $0.latency.record(elapsed) }
                        } catch {
                            results.state.withLock { $0.failures += 1 }
                        }
                    }
                    if n % 500 == 0 { peakRSS = max(peakRSS, Self.residentMegabytes() ?? 0) }
                }
            }
            let (latency, failures) = results.state.withLock { ($0.latency, $0.failures) }
            print(String(format: "submit latency at %d requests/s offered (%d submits over %.0f s, open loop): p50 %.3f ms  p99 %.3f ms  max %.3f ms  %d failed  RSS peak %.0f MB",
                         rate, count, offeredSeconds, ms(latency, 50), ms(latency, 99), Double(latency.max) / 1000, failures, peakRSS))
            guard case .object(var figure) = summary(latency) else { continue }
            figure["failed"] = .int(Int64(failures))
            figure["rssPeakMegabytes"] = .double(peakRSS)
            figures["\(rate)"] = .object(figure)
        }
        report["offeredLoadSubmitLatencyMs"] = .object(figures)
    }
}

/// Latencies recorded by many concurrent requests.
private final class LatencyRecorder: Sendable {
    let state = Mutex((latency: Histogram<UInt64>(highestTrackableValue: 60_000_000), failures: 0))
}
