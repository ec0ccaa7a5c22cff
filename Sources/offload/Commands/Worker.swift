import ArgumentParser
import Foundation
import Logging
import OffloadProcessing
import OffloadWorker
import ServiceLifecycle
import UnixSignals

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a worker agent that takes jobs from a server over HTTP (no database access needed).")

    @Option(help: "The server, e.g. https://jobs.example.com (also OFFLOAD_SERVER).") var server: String?
    @Option(help: "A worker API key (also OFFLOAD_WORKER_KEY; the environment keeps it out of `ps`).") var key: String?
    @Option(help: "The name shown in the registry (default: the host name).") var name: String?
    @Option(help: "Processing types to run, comma-separated (default: every built-in one this worker offers).")
    var types: String?
    @Option(help: "Jobs run at once.") var concurrency = 4
    @Option(help: "A label jobs can ask for, KEY=VALUE (repeatable).") var labels: [String] = []
    @OptionGroup(title: "Processors") var processors: ProcessorOptions
    @Option(help: "File that keeps the worker id across restarts.") var stateFile = "./offload-worker.json"
    @Option(help: "Seconds running jobs get to finish on SIGTERM before they are handed back.") var shutdownGrace = 30.0
    @Option(help: "Seconds between heartbeats.") var heartbeatSeconds = 10.0
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(help: "Log lines as text or json (one object per line).") var logFormat = "text"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        try LogSetup.bootstrap(format: logFormat, level: logLevel)
        guard let server = server ?? environment["OFFLOAD_SERVER"] else {
            throw ValidationError("give --server URL (or OFFLOAD_SERVER)")
        }
        guard let key = key ?? environment["OFFLOAD_WORKER_KEY"], !key.isEmpty else {
            throw ValidationError("give --key KEY (or OFFLOAD_WORKER_KEY)")
        }
        guard (1...1_000).contains(concurrency) else { throw ValidationError("--concurrency must be in 1...1000") }
        let builtIns = try processors.builtIns()
        var registry = ProcessorRegistry.offered(builtIns)
        if let types {
            let wanted = types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let unknown = wanted.filter { registry[$0] == nil }
            guard unknown.isEmpty else {
                throw ValidationError(
                    "this worker cannot run \(unknown.joined(separator: ", ")); it offers \(registry.types.joined(separator: ", "))"
                        + " (shell needs --allow-shell, llm.chat --llm-base-url, http --http-allow)")
            }
            registry = registry.removing(contentsOf: Set(registry.types).subtracting(wanted))
        }
        var labelMap: [String: String] = [:]
        for entry in labels {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--labels takes KEY=VALUE, not \(entry)") }
            labelMap[String(parts[0])] = String(parts[1])
        }
        var agent = WorkerAgent.Configuration(
            serverURL: server, apiKey: key, name: name ?? ProcessInfo.processInfo.hostName, labels: labelMap,
            concurrency: concurrency, statePath: stateFile.isEmpty ? nil : stateFile)
        agent.shutdownGrace = .milliseconds(Int64(shutdownGrace * 1000))
        agent.heartbeatInterval = .milliseconds(Int64(heartbeatSeconds * 1000))
        let logger = Logger(label: "offload-worker")
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: WorkerAgent(configuration: agent, registry: registry, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()
    }
}
