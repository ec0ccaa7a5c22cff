import Dispatch
import Foundation
import OffloadStore
import Synchronization

/// A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL
/// refuses root) in a temporary directory, listening on a free loopback port; `remove()` stops it (by its
/// data directory, so only this cluster) and deletes the directory.
final class PostgresCluster: Sendable {
    static let binaries = "/usr/lib/postgresql/15/bin"

    let directory: String
    let port: Int
    private let databases = Atomic<Int>(0)

    /// The cluster the store tests share, started on first use and removed when the test process exits.
    static func shared() async throws -> PostgresCluster {
        try await sharedCluster.get()
    }

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/initdb") else {
            throw TestFailure("PostgreSQL 15 is not installed (apt-get install postgresql); .ci/run installs it")
        }
        directory = NSTemporaryDirectory() + "offload-pg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory)
        }
        port = try freeLoopbackPort()
        try Self.run(Self.binaries + "/initdb", [
            "-D", directory + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions",
        ])
        try start()
    }

    /// Starts (or starts again) the server and waits until it accepts connections.
    func start() throws {
        try Self.run(Self.binaries + "/pg_ctl", [
            "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
            "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB",
            "start",
        ])
    }

    /// Stops the server at once (in-flight transactions are rolled back, as on a crash of the clients' view).
    func stop() throws {
        try Self.run(Self.binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    func remove() {
        try? Self.run(Self.binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new empty database in this cluster.
    func makeDatabase() async throws -> PostgresLocation {
        let name = "offload_test_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        let port = self.port
        try await Self.offPool {
            try Self.run(Self.binaries + "/psql", [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)",
            ])
        }
        return PostgresLocation(host: "127.0.0.1", port: port, username: "postgres", database: name, tls: .disable)
    }

    /// Runs the SQL script at `path` (a `pg_dump`) in `location`'s database with psql, stopping at the first error.
    func load(_ path: String, into location: PostgresLocation) async throws {
        let port = self.port
        try await Self.offPool {
            try Self.run(Self.binaries + "/psql", [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", location.database, "-q", "-v", "ON_ERROR_STOP=1",
            ], input: path)
        }
    }

    /// The rows `sql` answers in `location`'s database, each as its columns' text.
    func query(_ sql: String, in location: PostgresLocation) async throws -> [[String]] {
        let port = self.port
        let output = NSTemporaryDirectory() + "offload-pg-query-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: output) }
        try await Self.offPool {
            try Self.run(Self.binaries + "/psql", [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", location.database, "-At", "-F", "\t",
                "-v", "ON_ERROR_STOP=1", "-c", sql,
            ], output: output)
        }
        let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    func url(_ location: PostgresLocation) -> String {
        "postgres://\(location.username)@\(location.host):\(location.port)/\(location.database)?sslmode=disable"
    }

    /// Runs blocking work (a child process) on a Dispatch thread, never on the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs a PostgreSQL program as `postgres` (when the tests run as root) and waits for it.
    ///
    /// posix_spawn and waitpid, not Foundation's Process: Process learns of a child's exit from a socket the
    /// child inherits, and the server that `pg_ctl start` leaves running would hold that socket open forever.
    /// Its standard input is the file `input` and its standard output goes to the file `output` when given (both
    /// opened before `runuser` drops to `postgres`, so that user needs no access to them), else `/dev/null`.
    private static func run(_ program: String, _ arguments: [String], input: String? = nil, output: String? = nil) throws {
        let argv = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        let errorPath = NSTemporaryDirectory() + "offload-pg-stderr-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw TestFailure("cannot start \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exited normally with status 0 (the wait status is exit code << 8).
        guard status == 0 else {
            let message = FileManager.default.contents(atPath: errorPath) ?? Data()
            throw TestFailure("\(program) \(arguments.last ?? "") failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}

/// Starts the shared cluster once, off the cooperative thread pool (starting it blocks for seconds).
private actor SharedCluster {
    private var started: Task<PostgresCluster, any Error>?

    func get() async throws -> PostgresCluster {
        if let started { return try await started.value }
        let task = Task<PostgresCluster, any Error> {
            let cluster = try await PostgresCluster.offPool { try PostgresCluster() }
            sharedClusterForExit.withLock { $0 = cluster }
            atexit { sharedClusterForExit.withLock { $0 }?.remove() }
            return cluster
        }
        started = task
        return try await task.value
    }
}

private let sharedCluster = SharedCluster()
private let sharedClusterForExit = Mutex<PostgresCluster?>(nil)
