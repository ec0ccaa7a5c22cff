import OffloadCore
import Synchronization

/// Publishes each job's events in seq order although transactions on different connections return from
/// their commits in any order.
///
/// A write reserves its events before it commits, while it still holds the job's row lock, so reservations
/// of one job are made in seq order. After the commit it marks its reservation done, and every done
/// reservation at the head of the job's line is published, in order.
final class CommitOrder: Sendable {
    struct Ticket: Sendable {
        fileprivate let id: UInt64
        fileprivate let jobIds: [String]
    }

    private struct Entry {
        let id: UInt64
        var events: [JobEvent]
        var done = false
    }

    private struct State {
        var nextId: UInt64 = 0
        var lines: [String: [Entry]] = [:]
    }

    private let state = Mutex(State())

    func reserve(_ events: [JobEvent]) -> Ticket {
        state.withLock { s in
            s.nextId += 1
            let byJob = Dictionary(grouping: events, by: \.jobId)
            for (jobId, events) in byJob {
                s.lines[jobId, default: []].append(Entry(id: s.nextId, events: events))
            }
            return Ticket(id: s.nextId, jobIds: Array(byJob.keys))
        }
    }

    /// The reservation committed (`committed`) or rolled back: publishes what is now in order.
    func finish(_ ticket: Ticket, committed: Bool, publish: ([JobEvent]) -> Void) {
        guard !ticket.jobIds.isEmpty else { return }
        state.withLock { s in
            for jobId in ticket.jobIds {
                guard var line = s.lines[jobId], let index = line.firstIndex(where: { $0.id == ticket.id }) else { continue }
                if committed { line[index].done = true } else { line.remove(at: index) }
                var ready: [JobEvent] = []
                while let head = line.first, head.done {
                    ready += head.events
                    line.removeFirst()
                }
                s.lines[jobId] = line.isEmpty ? nil : line
                // Inside the lock, so two finishing writes cannot interleave one job's events.
                publish(ready)
            }
        }
    }
}
