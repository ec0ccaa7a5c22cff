import Foundation
import GRDB
import OffloadCore

/// The SQLite store's settings and small tables: paused queues, switched-off types, templates, schedules,
/// webhook deliveries and API keys.
extension SQLiteJobStore {
    // MARK: Queues and types

    public func setQueue(_ queue: String, paused: Bool, at: Date) async throws {
        try await writer.write { db in
            if paused {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO paused_queues (queue, paused_at) VALUES (?, ?)")
                    .execute(arguments: [queue, Timestamps.millis(at)])
                return ((), .none)
            }
            try db.cachedStatement(sql: "DELETE FROM paused_queues WHERE queue = ?").execute(arguments: [queue])
            return ((), WriteEffects(workAvailable: true))
        }
    }

    public func pausedQueues() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT queue FROM paused_queues")) }
    }

    public func setType(_ processingType: String, enabled: Bool, fallback: TypeFallback, at: Date) async throws {
        try await writer.write { db in
            if enabled {
                try db.cachedStatement(sql: "DELETE FROM disabled_types WHERE processing_type = ?")
                    .execute(arguments: [processingType])
            } else {
                try db.cachedStatement(sql: """
                    INSERT INTO disabled_types (processing_type, disabled_at, fallback) VALUES (?, ?, ?)
                    ON CONFLICT (processing_type) DO UPDATE SET fallback = excluded.fallback
                    """).execute(arguments: [processingType, Timestamps.millis(at), fallback.rawValue])
            }
            return ((), .none)
        }
    }

    public func disabledTypes() async throws -> [String: TypeFallback] {
        try await read { db in
            var all: [String: TypeFallback] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT processing_type, fallback FROM disabled_types") {
                all[row[0]] = TypeFallback(rawValue: row[1]) ?? .refuse
            }
            return all
        }
    }

    // MARK: Templates

    public func saveTemplate(name: String, body: JSONValue, at: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO job_templates (name, body, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                """).execute(arguments: [name, body.jsonString(), Timestamps.millis(at)])
            return ((), .none)
        }
    }

    public func template(name: String) async throws -> JSONValue? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM job_templates WHERE name = ?"), arguments: [name])
                .map { try JSONValue.parse($0) }
        }
    }

    public func templates() async throws -> [String: JSONValue] {
        try await read { db in
            var all: [String: JSONValue] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, body FROM job_templates") {
                all[row[0]] = try JSONValue.parse(row[1] as String)
            }
            return all
        }
    }

    public func deleteTemplate(name: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM job_templates WHERE name = ?").execute(arguments: [name])
            return (db.changesCount > 0, .none)
        }
    }

    // MARK: Schedules

    public func saveSchedule(_ schedule: Schedule) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO schedules (name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, processing_type = excluded.processing_type,
                    queue = excluded.queue, data = excluded.data, options = excluded.options, tenant = excluded.tenant,
                    next_run_at = excluded.next_run_at
                """).execute(arguments: [
                    schedule.name, schedule.cron, schedule.processingType, schedule.queue, schedule.data.jsonString(),
                    schedule.options.jsonString(), schedule.tenant, Timestamps.millis(schedule.nextRunAt),
                    Timestamps.millis(schedule.createdAt),
                ])
            return ((), .none)
        }
    }

    public func schedules() async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.scheduleColumns) FROM schedules ORDER BY name").map(SQLiteRows.schedule)
        }
    }

    public func deleteSchedule(name: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM schedules WHERE name = ?").execute(arguments: [name])
            return (db.changesCount > 0, .none)
        }
    }

    public func dueSchedules(at now: Date) async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(Self.scheduleColumns) FROM schedules WHERE next_run_at <= ? ORDER BY next_run_at"),
                arguments: [Timestamps.millis(now)]
            ).map(SQLiteRows.schedule)
        }
    }

    public func advanceSchedule(name: String, from: Date, to: Date) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE schedules SET next_run_at = ? WHERE name = ? AND next_run_at = ?")
                .execute(arguments: [Timestamps.millis(to), name, Timestamps.millis(from)])
            return (db.changesCount > 0, .none)
        }
    }

    // MARK: Webhooks

    public func claimWebhooks(now: Date, claimFor: TimeInterval, limit: Int) async throws -> [WebhookDelivery] {
        try await writer.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
                    WHERE job_id IN (SELECT job_id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                        ORDER BY next_attempt_at LIMIT ?)
                    RETURNING job_id, url, attempts
                    """),
                arguments: [
                    Timestamps.millis(now.addingTimeInterval(claimFor)), Timestamps.millis(now), Timestamps.millis(now),
                    max(1, limit),
                ])
            return (rows.map { WebhookDelivery(jobId: $0[0], url: $0[1], attempt: $0[2]) }, .none)
        }
    }

    public func finishWebhook(jobId: String, delivered: Bool, error: String?, retryAt: Date?, at: Date) async throws {
        try await writer.write { db in
            let state = delivered ? "delivered" : retryAt == nil ? "failed" : "pending"
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET state = ?, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),
                    updated_at = ? WHERE job_id = ?
                """).execute(arguments: [state, error, retryAt.map(Timestamps.millis), Timestamps.millis(at), jobId])
            return ((), .none)
        }
    }

    // MARK: Keys

    public func createKey(_ key: StoredKey) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO api_keys (id, name, role, tenant, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    key.id, key.name, key.role.rawValue, key.tenant, key.secretHash, Timestamps.millis(key.createdAt),
                ])
            return ((), .none)
        }
    }

    public func key(secretHash: String) async throws -> StoredKey? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.keyColumns) FROM api_keys WHERE secret_hash = ?"),
                arguments: [secretHash]
            ).map(SQLiteRows.key)
        }
    }

    public func keys() async throws -> [StoredKey] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at, id")
                .map(SQLiteRows.key)
        }
    }

    public func deleteKey(id: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM api_keys WHERE id = ?").execute(arguments: [id])
            return (db.changesCount > 0, .none)
        }
    }

    public func hasKey(role: Role) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = ?)", arguments: [role.rawValue])
                ?? false
        }
    }

    private static let keyColumns = "id, name, role, tenant, secret_hash, created_at"
    static let scheduleColumns = "name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at"
}
