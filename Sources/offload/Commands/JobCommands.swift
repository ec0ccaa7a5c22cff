import ArgumentParser
import Foundation
import OffloadClient
import OffloadCore

/// Prints jobs for people (aligned columns) or, with `--json`, for scripts.
struct JobOutput: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.") var json = false

    /// One job: its JSON object with `--json`.
    func show(_ job: Job) {
        if json { print(job.jsonValue.jsonString()) } else { table([job], nextCursor: nil) }
    }

    /// A page: `{"jobs", "nextCursor"}` with `--json`.
    func show(_ page: JobList) {
        if json {
            print(JSONValue.object([
                "jobs": .array(page.jobs.map(\.jsonValue)), "nextCursor": page.nextCursor.map(JSONValue.string) ?? .null,
            ]).jsonString())
        } else {
            table(page.jobs, nextCursor: page.nextCursor)
        }
    }

    private func table(_ jobs: [Job], nextCursor: String?) {
        let rows = [["JOB", "TYPE", "QUEUE", "STATUS", "PROGRESS", "ATTEMPT", "CREATED"]] + jobs.map { job in
            [
                job.jobId, job.processingType, job.queue, job.status.rawValue, "\(job.progress)%",
                "\(job.attempt)/\(job.maxAttempts)", Timestamps.format(job.createdAt),
            ]
        }
        printTable(rows)
        if let nextCursor { print("more: --cursor \(nextCursor)") }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a job.")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: JobOutput
    @Argument(help: "The job id.") var jobId: String

    func run() async throws {
        let job = try await connection.client().job(jobId)
        output.show(job)
        if !output.json, let error = job.error { print("error: \(error)") }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job (a running one is stopped by its worker).")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: JobOutput
    @Argument(help: "The job id.") var jobId: String

    func run() async throws {
        output.show(try await connection.client().cancel(jobId))
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a FAILED or CANCELLED job again.")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: JobOutput
    @Argument(help: "The job id.") var jobId: String

    func run() async throws {
        output.show(try await connection.client().retry(jobId))
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: JobOutput
    @Option(help: "Only this status: PENDING, PROCESSING, COMPLETED, FAILED or CANCELLED.") var status: String?
    @Option(help: "Only this processing type.") var type: String?
    @Option(help: "Only this queue.") var queue: String?
    @Option(help: "The page after this cursor (printed at the end of the previous page).") var cursor: String?
    @Option(help: "Jobs per page (1–500).") var limit = 50

    func run() async throws {
        var filter: JobStatus?
        if let status {
            guard let parsed = JobStatus(rawValue: status.uppercased()) else {
                throw ValidationError("--status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter = parsed
        }
        let page = try await connection.client().jobs(status: filter, processingType: type, queue: queue, cursor: cursor, limit: limit)
        output.show(page)
    }
}
