import Foundation
import OffloadCore
import PostgresNIO

extension PostgresJobStore {
    // MARK: Queues and types

    public func setQueue(_ queue: String, paused: Bool, at: Date) async throws {
        try await write { connection in
            if paused {
                _ = try await connection.query("""
                    INSERT INTO paused_queues (queue, paused_at) VALUES (\(queue), \(Timestamps.millis(at)))
                    ON CONFLICT (queue) DO NOTHING
                    """, logger: self.logger).get()
                return ((), .none)
            }
            _ = try await connection.query("DELETE FROM paused_queues WHERE queue = \(queue)", logger: self.logger).get()
            return ((), WriteEffects(workAvailable: true))
        }
    }

    public func pausedQueues() async throws -> Set<String> {
        try await autocommit { connection in
            Set(try await Self.collect(
                connection.query("SELECT queue FROM paused_queues", logger: self.logger)) { try $0.decode(String.self) })
        }
    }

    public func setType(_ processingType: String, enabled: Bool, fallback: TypeFallback, at: Date) async throws {
        try await autocommit { connection in
            if enabled {
                _ = try await connection.query(
                    "DELETE FROM disabled_types WHERE processing_type = \(processingType)", logger: self.logger).get()
            } else {
                _ = try await connection.query("""
                    INSERT INTO disabled_types (processing_type, disabled_at, fallback)
                    VALUES (\(processingType), \(Timestamps.millis(at)), \(fallback.rawValue))
                    ON CONFLICT (processing_type) DO UPDATE SET fallback = excluded.fallback
                    """, logger: self.logger).get()
            }
        }
    }

    public func disabledTypes() async throws -> [String: TypeFallback] {
        let rows = try await autocommit { connection in
            try await Self.collect(connection.query(
                "SELECT processing_type, fallback FROM disabled_types", logger: self.logger)) { try $0.decode((String, String).self) }
        }
        var all: [String: TypeFallback] = [:]
        for (type, fallback) in rows { all[type] = TypeFallback(rawValue: fallback) ?? .refuse }
        return all
    }

    // MARK: Templates

    public func saveTemplate(name: String, body: JSONValue, at: Date) async throws {
        try await autocommit { connection in
            _ = try await connection.query("""
                INSERT INTO job_templates (name, body, updated_at) VALUES (\(name), \(body.jsonString()), \(Timestamps.millis(at)))
                ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                """, logger: self.logger).get()
        }
    }

    public func template(name: String) async throws -> JSONValue? {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT body FROM job_templates WHERE name = \(name)", logger: self.logger)) {
                try JSONValue.parse(try $0.decode(String.self))
            }
        }
    }

    public func templates() async throws -> [String: JSONValue] {
        let rows = try await autocommit { connection in
            try await Self.collect(connection.query("SELECT name, body FROM job_templates", logger: self.logger)) {
                try $0.decode((String, String).self)
            }
        }
        var all: [String: JSONValue] = [:]
        for (name, body) in rows { all[name] = try JSONValue.parse(body) }
        return all
    }

    public func deleteTemplate(name: String) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "DELETE FROM job_templates WHERE name = \(name) RETURNING name", logger: self.logger)) { _ in true } ?? false
        }
    }

    // MARK: Schedules

    public func saveSchedule(_ schedule: Schedule) async throws {
        try await autocommit { connection in
            _ = try await connection.query("""
                INSERT INTO schedules (name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at)
                VALUES (\(schedule.name), \(schedule.cron), \(schedule.processingType), \(schedule.queue),
                    \(schedule.data.jsonString()), \(schedule.options.jsonString()), \(schedule.tenant),
                    \(Timestamps.millis(schedule.nextRunAt)), \(Timestamps.millis(schedule.createdAt)))
                ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, processing_type = excluded.processing_type,
                    queue = excluded.queue, data = excluded.data, options = excluded.options, tenant = excluded.tenant,
                    next_run_at = excluded.next_run_at
                """, logger: self.logger).get()
        }
    }

    public func schedules() async throws -> [Schedule] {
        try await autocommit { connection in
            try await Self.collect(connection.query(
                "SELECT \(unescaped: PostgresRows.scheduleColumns) FROM schedules ORDER BY name", logger: self.logger),
                PostgresRows.schedule)
        }
    }

    public func deleteSchedule(name: String) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "DELETE FROM schedules WHERE name = \(name) RETURNING name", logger: self.logger)) { _ in true } ?? false
        }
    }

    public func dueSchedules(at now: Date) async throws -> [Schedule] {
        try await autocommit { connection in
            try await Self.collect(connection.query("""
                SELECT \(unescaped: PostgresRows.scheduleColumns) FROM schedules
                WHERE next_run_at <= \(Timestamps.millis(now)) ORDER BY next_run_at
                """, logger: self.logger), PostgresRows.schedule)
        }
    }

    public func advanceSchedule(name: String, from: Date, to: Date) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query("""
                UPDATE schedules SET next_run_at = \(Timestamps.millis(to))
                WHERE name = \(name) AND next_run_at = \(Timestamps.millis(from)) RETURNING name
                """, logger: self.logger)) { _ in true } ?? false
        }
    }

    // MARK: Webhooks

    /// `FOR UPDATE SKIP LOCKED`: servers claiming at once take different deliveries.
    public func claimWebhooks(now: Date, claimFor: TimeInterval, limit: Int) async throws -> [WebhookDelivery] {
        try await autocommit { connection in
            try await Self.collect(connection.query("""
                WITH due AS (
                    SELECT job_id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= \(Timestamps.millis(now))
                    ORDER BY next_attempt_at LIMIT \(Int64(max(1, limit))) FOR UPDATE SKIP LOCKED
                )
                UPDATE webhook_deliveries w SET attempts = w.attempts + 1,
                    next_attempt_at = \(Timestamps.millis(now.addingTimeInterval(claimFor))), updated_at = \(Timestamps.millis(now))
                FROM due WHERE w.job_id = due.job_id
                RETURNING w.job_id, w.url, w.attempts
                """, logger: self.logger)) { row in
                let (jobId, url, attempt) = try row.decode((String, String, Int).self)
                return WebhookDelivery(jobId: jobId, url: url, attempt: attempt)
            }
        }
    }

    public func finishWebhook(jobId: String, delivered: Bool, error: String?, retryAt: Date?, at: Date) async throws {
        let state = delivered ? "delivered" : retryAt == nil ? "failed" : "pending"
        try await autocommit { connection in
            _ = try await connection.query("""
                UPDATE webhook_deliveries SET state = \(state), last_error = \(error)::text,
                    next_attempt_at = COALESCE(\(retryAt.map(Timestamps.millis))::bigint, next_attempt_at),
                    updated_at = \(Timestamps.millis(at))
                WHERE job_id = \(jobId)
                """, logger: self.logger).get()
        }
    }

    // MARK: Keys

    public func createKey(_ key: StoredKey) async throws {
        try await autocommit { connection in
            _ = try await connection.query("""
                INSERT INTO api_keys (id, name, role, tenant, secret_hash, created_at)
                VALUES (\(key.id), \(key.name), \(key.role.rawValue), \(key.tenant), \(key.secretHash), \(Timestamps.millis(key.createdAt)))
                """, logger: self.logger).get()
        }
    }

    public func key(secretHash: String) async throws -> StoredKey? {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT \(unescaped: PostgresRows.keyColumns) FROM api_keys WHERE secret_hash = \(secretHash)",
                logger: self.logger), PostgresRows.key)
        }
    }

    public func keys() async throws -> [StoredKey] {
        try await autocommit { connection in
            try await Self.collect(connection.query(
                "SELECT \(unescaped: PostgresRows.keyColumns) FROM api_keys ORDER BY created_at, id", logger: self.logger),
                PostgresRows.key)
        }
    }

    public func deleteKey(id: String) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "DELETE FROM api_keys WHERE id = \(id) RETURNING id", logger: self.logger)) { _ in true } ?? false
        }
    }

    public func hasKey(role: Role) async throws -> Bool {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = \(role.rawValue))", logger: self.logger)) {
                try $0.decode(Bool.self)
            } ?? false
        }
    }
}
