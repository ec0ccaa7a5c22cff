import ArgumentParser
import Foundation
import OffloadClient
import OffloadCore

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a server: exits 0 when it and its store answer, 1 otherwise.")

    @Option(help: "Server URL (or OFFLOAD_URL).") var server: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let url = server ?? ProcessInfo.processInfo.environment["OFFLOAD_URL"] ?? "http://127.0.0.1:8080"
        // Health needs no key: any placeholder will do for the client.
        let (live, ready) = try await OffloadClient(baseURL: url, apiKey: "-").health()
        if json {
            print(JSONValue.object(["live": .bool(live), "ready": .bool(ready)]).jsonString())
        } else {
            print("live: \(live ? "yes" : "no")  ready: \(ready ? "yes" : "no (the store does not answer)")")
        }
        if !(live && ready) { throw ExitCode(1) }
    }
}

struct Queues: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List paused queues, or pause and resume one (admin key).",
        subcommands: [List.self, Pause.self, Resume.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The paused queues, one per line (or JSON).")
        @OptionGroup var connection: ClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let paused = try await connection.client().pausedQueues()
            if json { print(JSONValue.array(paused.map(JSONValue.string)).jsonString()) } else { paused.forEach { print($0) } }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop leasing from a queue (its jobs wait).")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The queue.") var name: String

        func run() async throws {
            try await connection.client().setQueue(name, paused: true)
            print("\(name) paused")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lease from a queue again.")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The queue.") var name: String

        func run() async throws {
            try await connection.client().setQueue(name, paused: false)
            print("\(name) resumed")
        }
    }
}

struct Types: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List processing types and their switches, or switch one on or off (admin key).",
        subcommands: [List.self, On.self, Off.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every processing type with its switch.")
        @OptionGroup var connection: ClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let types = try await connection.client().types()
            if json {
                print(JSONValue.array(types).jsonString())
                return
            }
            for type in types {
                let name = type["processingType"]?.stringValue ?? "?"
                let state = type["enabled"]?.boolValue == false ? "off (\(type["fallback"]?.stringValue ?? "refuse"))" : "on"
                print("\(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(state)")
            }
        }
    }

    struct On: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Switch a processing type on.")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The processing type.") var type: String

        func run() async throws {
            print(try await connection.client().setType(type, enabled: true).jsonString())
        }
    }

    struct Off: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch a processing type off: its submits are refused, or run on the server with --fallback sync.")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The processing type.") var type: String
        @Option(help: "refuse (422 at submit) or sync (run inside the submit).") var fallback = "refuse"

        func run() async throws {
            print(try await connection.client().setType(type, enabled: false, fallback: fallback).jsonString())
        }
    }
}

struct Workers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List workers (status, jobs, capacity, last heartbeat), or pause and resume one (admin key).",
        subcommands: [List.self, Pause.self, Resume.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The worker registry.")
        @OptionGroup var connection: ClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let workers = try await connection.client().workers()
            if json {
                print(JSONValue.array(workers).jsonString())
                return
            }
            printTable([["WORKER", "NAME", "STATUS", "JOBS", "TYPES", "LABELS", "LAST HEARTBEAT"]] + workers.map { worker in
                let labels = (worker["labels"]?.objectValue ?? [:]).map { "\($0.key)=\($0.value.stringValue ?? "")" }.sorted()
                return [
                    worker["workerId"]?.stringValue ?? "?", worker["name"]?.stringValue ?? "",
                    worker["status"]?.stringValue ?? "",
                    "\(worker["currentJobs"]?.arrayValue?.count ?? 0)/\(worker["maxConcurrentJobs"]?.intValue ?? 0)",
                    (worker["processingTypes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ","),
                    labels.joined(separator: ","), worker["lastHeartbeatAt"]?.stringValue ?? "",
                ]
            })
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop giving a worker new jobs (it finishes what it runs).")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The worker id.") var workerId: String

        func run() async throws {
            _ = try await connection.client().setWorker(workerId, paused: true)
            print("\(workerId) paused")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a paused worker jobs again.")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The worker id.") var workerId: String

        func run() async throws {
            _ = try await connection.client().setWorker(workerId, paused: false)
            print("\(workerId) resumed")
        }
    }
}
