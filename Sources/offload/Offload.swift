import ArgumentParser
import OffloadCore
import OffloadBench

/// The `offload` command: the server, and a thin client beside it.
@main
struct Offload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offload",
        abstract: "A self-hosted job server: hand slow work to workers and follow it live.",
        version: "offload \(Release.version) (\(BuildInfo.commit))",
        subcommands: [
            Serve.self, Worker.self, Submit.self, Watch.self, Status.self, Jobs.self, Cancel.self, Retry.self, Queues.self, Types.self, Workers.self, Stats.self, Keys.self,
            Health.self, Bench.self,
        ])
}
