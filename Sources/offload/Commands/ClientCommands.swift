import ArgumentParser
import Foundation
import OffloadClient
import OffloadCore

/// Where a client command finds the server and its key.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server URL (or OFFLOAD_URL).") var server: String?
    @Option(help: "API key (or OFFLOAD_KEY).") var key: String?

    func client() throws -> OffloadClient {
        let environment = ProcessInfo.processInfo.environment
        let url = server ?? environment["OFFLOAD_URL"] ?? "http://127.0.0.1:8080"
        guard let key = key ?? environment["OFFLOAD_KEY"], !key.isEmpty else {
            throw ValidationError("give an API key with --key or OFFLOAD_KEY")
        }
        return OffloadClient(baseURL: url, apiKey: key)
    }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit a job and print it as JSON.")

    @OptionGroup var connection: ClientOptions
    @Argument(help: "The processing type, e.g. type1 or noop.") var type: String
    @Option(help: "The job's data as JSON.") var data = "null"
    @Option(help: "The job's options as JSON.") var options = "{}"

    func run() async throws {
        let job = try await connection.client().submit(
            type, data: try JSONValue.parse(data), options: try JSONValue.parse(options))
        print(job.jsonValue.jsonString())
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a job live; exits 0 when it completes, 1 when it fails or is cancelled.")

    @OptionGroup var connection: ClientOptions
    @Argument(help: "The job id.") var jobId: String

    func run() async throws {
        let client = try connection.client()
        let terminal = isatty(STDOUT_FILENO) == 1
        var bar = ProgressBar(terminal: terminal)
        var status = JobStatus.pending
        for try await update in client.watch(jobId) {
            switch update {
            case .snapshot(let job):
                status = job.status
                bar.show(job.progress, message: job.message ?? job.status.rawValue)
            case .event(_, let kind, let data):
                switch kind {
                case .progress:
                    bar.show(Int(data["progress"]?.intValue ?? 0), message: data["message"]?.stringValue ?? "")
                case .log:
                    bar.printAbove("[\(data["stream"]?.stringValue ?? "log")] \(data["line"]?.stringValue ?? "")")
                case .token:
                    print(data["text"]?.stringValue ?? "", terminator: "")
                    fflush(nil)
                case .status:
                    status = data["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)) ?? status
                case .completed, .failed, .cancelled:
                    status = data["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)) ?? status
                    bar.finish()
                    if let error = data["error"]?.stringValue { print("error: \(error)") }
                    if let result = data["result"], kind == .completed { print("result: \(result.jsonString())") }
                }
            }
        }
        // Colour only on a terminal: green when it completed, red otherwise.
        let colour = status == .completed ? "32" : "31"
        print(terminal ? "\u{1B}[\(colour)m\(status.rawValue)\u{1B}[0m" : status.rawValue)
        if status != .completed { throw ExitCode(1) }
    }
}

/// `watch`'s progress line: a bar, the percentage, the rate since the first progress and the time left at
/// that rate. On a terminal it redraws one line; otherwise it prints a line per change.
struct ProgressBar {
    let terminal: Bool
    private var first: (at: ContinuousClock.Instant, progress: Int)?
    private var drawn = false

    init(terminal: Bool) {
        self.terminal = terminal
    }

    mutating func show(_ progress: Int, message: String) {
        let now = ContinuousClock.now
        if first == nil { first = (now, progress) }
        var rate = ""
        if let first, progress > first.progress {
            let elapsed = now - first.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let perSecond = Double(progress - first.progress) / max(seconds, 0.001)
            rate = String(format: "  %.1f%%/s  ETA %@", perSecond, Self.duration(Double(100 - progress) / perSecond))
        }
        let width = 30
        let filled = max(0, min(width, progress * width / 100))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        if terminal {
            print("\r\u{1B}[K\(bar) \(progress)%\(rate) \(message)", terminator: "")
            fflush(nil)
            drawn = true
        } else {
            print("\(progress)%\(rate) \(message)")
        }
    }

    /// A line above the bar (a log line), the bar redrawn under it on the next change.
    mutating func printAbove(_ line: String) {
        print(terminal && drawn ? "\r\u{1B}[K\(line)" : line)
        drawn = false
    }

    mutating func finish() {
        if terminal && drawn { print("") }
        drawn = false
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : total >= 60 ? "\(total / 60)m\(total % 60)s" : "\(total)s"
    }
}

/// Prints rows as columns padded to their widest cell, the first row being the header.
func printTable(_ rows: [[String]]) {
    guard let header = rows.first else { return }
    let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}
