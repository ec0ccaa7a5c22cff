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

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue depth by status, last hour's throughput and wait/run percentiles, workers (admin key).")
    @OptionGroup var connection: ClientOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let stats = try await connection.client().stats()
        if json {
            print(stats.jsonString())
            return
        }
        let statuses = ["pending", "processing", "completed", "failed", "cancelled"]
        func count(_ row: JSONValue, _ status: String) -> String { "\(row[status]?.intValue ?? 0)" }
        printTable([["QUEUE", "PENDING", "RUNNING", "DONE 1H", "FAILED 1H", "CANCELLED 1H", "PAUSED"]]
            + (stats["queues"]?.arrayValue ?? []).map { row in
                [row["queue"]?.stringValue ?? "?"] + statuses.map { count(row, $0) } + [row["paused"]?.boolValue == true ? "yes" : ""]
            })
        print("")
        printTable([["TYPE", "PENDING", "RUNNING", "DONE 1H", "FAILED 1H", "CANCELLED 1H", "SWITCH"]]
            + (stats["types"]?.arrayValue ?? []).map { row in
                [row["processingType"]?.stringValue ?? "?"] + statuses.map { count(row, $0) }
                    + [row["enabled"]?.boolValue == false ? "off (\(row["fallback"]?.stringValue ?? "refuse"))" : "on"]
            })
        let hour = stats["lastHour"] ?? [:]
        func ms(_ value: JSONValue?) -> String { value?.intValue.map { "\($0) ms" } ?? "-" }
        print("")
        print(String(format: "last hour: %d completed (%.2f/s), %d failed, %d cancelled",
                     hour["completed"]?.intValue ?? 0, hour["completedPerSecond"]?.doubleValue ?? 0,
                     hour["failed"]?.intValue ?? 0, hour["cancelled"]?.intValue ?? 0))
        print("wait p50 \(ms(hour["waitMs"]?["p50"]))  p95 \(ms(hour["waitMs"]?["p95"]))  p99 \(ms(hour["waitMs"]?["p99"]))   "
            + "run p50 \(ms(hour["runMs"]?["p50"]))  p95 \(ms(hour["runMs"]?["p95"]))  p99 \(ms(hour["runMs"]?["p99"]))")
        let workers = stats["workers"]?.objectValue ?? [:]
        print("workers: " + ["active", "paused", "draining", "offline"].map { "\(workers[$0]?.intValue ?? 0) \($0)" }.joined(separator: ", "))
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create and delete API keys (admin key).", subcommands: [List.self, Create.self, Delete.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key with its role and tenant (never a secret).")
        @OptionGroup var connection: ClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let keys = try await connection.client().keys()
            if json {
                print(JSONValue.array(keys).jsonString())
                return
            }
            printTable([["KEY", "NAME", "ROLE", "TENANT", "CREATED"]] + keys.map { key in
                ["id", "name", "role", "tenant", "createdAt"].map { key[$0]?.stringValue ?? "" }
            })
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
        @OptionGroup var connection: ClientOptions
        @Option(help: "What the key is for.") var name: String
        @Option(help: "client, worker or admin.") var role = "client"
        @Option(help: "The tenant its jobs belong to.") var tenant = "default"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let key = try await connection.client().createKey(name: name, role: role, tenant: tenant)
            if json {
                print(key.jsonString())
            } else {
                print("\(key["id"]?.stringValue ?? "?") (\(role), tenant \(tenant)); the secret, shown only now:")
                print(key["secret"]?.stringValue ?? "")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key.")
        @OptionGroup var connection: ClientOptions
        @Argument(help: "The key id (key_…).") var id: String

        func run() async throws {
            try await connection.client().deleteKey(id)
            print("\(id) deleted")
        }
    }
}
