import Foundation
import NIOCore
import OffloadCore
import PostgresNIO

/// The worker registry and uploaded bundles.
extension PostgresJobStore {
    private static let workerColumns =
        "id, name, processing_types, labels, max_concurrent_jobs, status, registered_at, last_heartbeat_at"

    private static func workerRecord(_ row: PostgresRow) throws -> WorkerRecord {
        let (id, name, types, labels, max, status, registered, seen) =
            try row.decode((String, String, [String], String, Int, String, Int64, Int64).self)
        return WorkerRecord(
            workerId: id, name: name, processingTypes: types,
            labels: try JSONValue.parse(labels).objectValue?.compactMapValues(\.stringValue) ?? [:],
            maxConcurrentJobs: max, status: WorkerStatus(rawValue: status) ?? .active,
            registeredAt: Timestamps.date(millis: registered), lastHeartbeatAt: Timestamps.date(millis: seen))
    }

    public func registerWorker(_ worker: WorkerRecord) async throws {
        let labels = JSONValue.object(worker.labels.mapValues(JSONValue.string)).jsonString()
        try await autocommit { connection in
            _ = try await connection.query("""
                INSERT INTO workers (\(unescaped: Self.workerColumns))
                VALUES (\(worker.workerId), \(worker.name), \(worker.processingTypes)::text[], \(labels),
                    \(worker.maxConcurrentJobs), \(worker.status.rawValue), \(Timestamps.millis(worker.registeredAt)),
                    \(Timestamps.millis(worker.lastHeartbeatAt)))
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, processing_types = excluded.processing_types,
                    labels = excluded.labels, max_concurrent_jobs = excluded.max_concurrent_jobs,
                    status = excluded.status, registered_at = excluded.registered_at,
                    last_heartbeat_at = excluded.last_heartbeat_at
                """, logger: self.logger).get()
        }
    }

    public func worker(id: String) async throws -> WorkerRecord? {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT \(unescaped: Self.workerColumns) FROM workers WHERE id = \(id)", logger: self.logger),
                Self.workerRecord)
        }
    }

    public func workers() async throws -> [WorkerRecord] {
        try await autocommit { connection in
            try await Self.collect(connection.query(
                "SELECT \(unescaped: Self.workerColumns) FROM workers ORDER BY registered_at, id", logger: self.logger),
                Self.workerRecord)
        }
    }

    public func touchWorker(id: String, at: Date) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "UPDATE workers SET last_heartbeat_at = \(Timestamps.millis(at)) WHERE id = \(id) RETURNING id",
                logger: self.logger)) { _ in true } ?? false
        }
    }

    public func setWorkerStatus(id: String, status: WorkerStatus) async throws -> WorkerRecord? {
        try await write { connection in
            let record = try await Self.first(connection.query(
                "UPDATE workers SET status = \(status.rawValue) WHERE id = \(id) RETURNING \(unescaped: Self.workerColumns)",
                logger: self.logger), Self.workerRecord)
            // A resumed worker's waiting lease calls look again.
            return (record, WriteEffects(workAvailable: record != nil && status == .active))
        }
    }

    public func deleteWorker(id: String) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "DELETE FROM workers WHERE id = \(id) RETURNING id", logger: self.logger)) { _ in true } ?? false
        }
    }

    public func pruneWorkers(lastSeenBefore: Date) async throws -> Int {
        try await autocommit { connection in
            try await Self.collect(connection.query(
                "DELETE FROM workers WHERE last_heartbeat_at < \(Timestamps.millis(lastSeenBefore)) RETURNING id",
                logger: self.logger)) { _ in () }.count
        }
    }

    public func runningJobs() async throws -> [String: [String]] {
        let rows = try await autocommit { connection in
            try await Self.collect(connection.query(
                "SELECT worker_id, id FROM jobs WHERE status = 'PROCESSING' AND worker_id IS NOT NULL ORDER BY id",
                logger: self.logger)) { try $0.decode((String, String).self) }
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }

    public func heldLeases(workerId: String) async throws -> [HeldLease] {
        let rows = try await autocommit { connection in
            try await Self.collect(connection.query("""
                SELECT id, lease_token, started_at, lease_expires_at, cancel_requested FROM jobs
                WHERE status = 'PROCESSING' AND worker_id = \(workerId) ORDER BY started_at, id
                """, logger: self.logger)) { try $0.decode((String, String?, Int64?, Int64?, Bool).self) }
        }
        return rows.map {
            HeldLease(
                jobId: $0.0, leaseToken: $0.1 ?? "", startedAt: Timestamps.date(millis: $0.2 ?? 0),
                expiresAt: Timestamps.date(millis: $0.3 ?? 0), cancelRequested: $0.4)
        }
    }

    public func saveFile(_ file: StoredFile) async throws {
        try await autocommit { connection in
            _ = try await connection.query("""
                INSERT INTO files (id, tenant, size, sha256, content, created_at)
                VALUES (\(file.fileId), \(file.tenant), \(Int64(file.size)), \(file.sha256),
                    \(ByteBuffer(bytes: file.content)), \(Timestamps.millis(file.createdAt)))
                """, logger: self.logger).get()
        }
    }

    public func file(id: String, tenant: String?) async throws -> StoredFile? {
        let row = try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT id, tenant, size, sha256, content, created_at FROM files WHERE id = \(id)", logger: self.logger)
            ) { try $0.decode((String, String, Int64, String, ByteBuffer, Int64).self) }
        }
        guard let (fileId, owner, size, sha256, content, created) = row, tenant == nil || tenant == owner else { return nil }
        return StoredFile(
            fileId: fileId, tenant: owner, size: Int(size), sha256: sha256, content: Array(content.readableBytesView),
            createdAt: Timestamps.date(millis: created))
    }

    public func fileExists(id: String, tenant: String?) async throws -> Bool {
        let owner = try await autocommit { connection in
            try await Self.first(connection.query("SELECT tenant FROM files WHERE id = \(id)", logger: self.logger)) {
                try $0.decode(String.self)
            }
        }
        return owner != nil && (tenant == nil || tenant == owner)
    }

    public func pruneFiles(createdBefore: Date, limit: Int) async throws -> Int {
        try await autocommit { connection in
            try await Self.collect(connection.query("""
                DELETE FROM files WHERE id IN (
                    SELECT id FROM files WHERE created_at < \(Timestamps.millis(createdBefore)) ORDER BY created_at
                    LIMIT \(Int64(max(1, limit))))
                RETURNING id
                """, logger: self.logger)) { _ in () }.count
        }
    }
}
