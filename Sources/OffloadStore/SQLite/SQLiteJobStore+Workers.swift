import Foundation
import GRDB
import OffloadCore

/// The worker registry and uploaded bundles.
extension SQLiteJobStore {
    private static let workerColumns =
        "id, name, processing_types, labels, max_concurrent_jobs, status, registered_at, last_heartbeat_at"

    private static func workerRecord(_ row: Row) throws -> WorkerRecord {
        let types = try JSONValue.parse(row[2] as String).arrayValue?.compactMap(\.stringValue) ?? []
        let labels = try JSONValue.parse(row[3] as String).objectValue?.compactMapValues(\.stringValue) ?? [:]
        return WorkerRecord(
            workerId: row[0], name: row[1], processingTypes: types, labels: labels, maxConcurrentJobs: row[4],
            status: WorkerStatus(rawValue: row[5]) ?? .active, registeredAt: Timestamps.date(millis: row[6]),
            lastHeartbeatAt: Timestamps.date(millis: row[7]))
    }

    public func registerWorker(_ worker: WorkerRecord) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO workers (\(Self.workerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, processing_types = excluded.processing_types,
                    labels = excluded.labels, max_concurrent_jobs = excluded.max_concurrent_jobs,
                    status = excluded.status, registered_at = excluded.registered_at,
                    last_heartbeat_at = excluded.last_heartbeat_at
                """).execute(arguments: [
                    worker.workerId, worker.name,
                    JSONValue.array(worker.processingTypes.map(JSONValue.string)).jsonString(),
                    JSONValue.object(worker.labels.mapValues(JSONValue.string)).jsonString(), worker.maxConcurrentJobs,
                    worker.status.rawValue, Timestamps.millis(worker.registeredAt),
                    Timestamps.millis(worker.lastHeartbeatAt),
                ])
            return ((), .none)
        }
    }

    public func worker(id: String) async throws -> WorkerRecord? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.workerColumns) FROM workers WHERE id = ?"), arguments: [id]
            ).map(Self.workerRecord)
        }
    }

    public func workers() async throws -> [WorkerRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.workerColumns) FROM workers ORDER BY registered_at, id")
                .map(Self.workerRecord)
        }
    }

    public func touchWorker(id: String, at: Date) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE workers SET last_heartbeat_at = ? WHERE id = ?")
                .execute(arguments: [Timestamps.millis(at), id])
            return (db.changesCount > 0, .none)
        }
    }

    public func setWorkerStatus(id: String, status: WorkerStatus) async throws -> WorkerRecord? {
        try await writer.write { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "UPDATE workers SET status = ? WHERE id = ? RETURNING \(Self.workerColumns)"),
                arguments: [status.rawValue, id])
            // A resumed worker's waiting lease calls look again.
            return (try row.map(Self.workerRecord), WriteEffects(workAvailable: row != nil && status == .active))
        }
    }

    public func deleteWorker(id: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM workers WHERE id = ?").execute(arguments: [id])
            return (db.changesCount > 0, .none)
        }
    }

    public func pruneWorkers(lastSeenBefore: Date) async throws -> Int {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM workers WHERE last_heartbeat_at < ?")
                .execute(arguments: [Timestamps.millis(lastSeenBefore)])
            return (db.changesCount, .none)
        }
    }

    public func runningJobs() async throws -> [String: [String]] {
        try await read { db in
            var byWorker: [String: [String]] = [:]
            for row in try Row.fetchAll(
                db, sql: """
                    SELECT worker_id, id FROM jobs INDEXED BY jobs_active
                    WHERE \(SQLiteSchema.activePredicate) AND status = 'PROCESSING' AND worker_id IS NOT NULL ORDER BY id
                    """)
            {
                byWorker[row[0], default: []].append(row[1])
            }
            return byWorker
        }
    }

    public func heldLeases(workerId: String) async throws -> [HeldLease] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT id, lease_token, started_at, lease_expires_at, cancel_requested FROM jobs INDEXED BY jobs_active
                    WHERE \(SQLiteSchema.activePredicate) AND status = 'PROCESSING' AND worker_id = ?
                    ORDER BY started_at, id
                    """),
                arguments: [workerId]
            ).map { row in
                HeldLease(
                    jobId: row[0], leaseToken: row[1] ?? "", startedAt: Timestamps.date(millis: row[2] ?? 0),
                    expiresAt: Timestamps.date(millis: row[3] ?? 0), cancelRequested: (row[4] as Int64) != 0)
            }
        }
    }

    public func saveFile(_ file: StoredFile) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO files (id, tenant, size, sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    file.fileId, file.tenant, file.size, file.sha256, Data(file.content), Timestamps.millis(file.createdAt),
                ])
            return ((), .none)
        }
    }

    public func file(id: String, tenant: String?) async throws -> StoredFile? {
        try await read { db in
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, tenant, size, sha256, content, created_at FROM files WHERE id = ?"),
                arguments: [id])
            else { return nil }
            let owner: String = row[1]
            guard tenant == nil || tenant == owner else { return nil }
            let content: Data = row[4]
            return StoredFile(
                fileId: row[0], tenant: owner, size: row[2], sha256: row[3], content: Array(content),
                createdAt: Timestamps.date(millis: row[5]))
        }
    }

    public func fileExists(id: String, tenant: String?) async throws -> Bool {
        try await read { db in
            let owner = try String.fetchOne(
                db.cachedStatement(sql: "SELECT tenant FROM files WHERE id = ?"), arguments: [id])
            return owner != nil && (tenant == nil || tenant == owner)
        }
    }

    public func pruneFiles(createdBefore: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                DELETE FROM files WHERE id IN (SELECT id FROM files WHERE created_at < ? ORDER BY created_at LIMIT ?)
                """).execute(arguments: [Timestamps.millis(createdBefore), max(1, limit)])
            return (db.changesCount, .none)
        }
    }
}
