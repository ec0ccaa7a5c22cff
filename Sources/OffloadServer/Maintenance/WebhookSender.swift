import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffloadCore
import OffloadStore

/// Sends each finished job that asked for it (`options.webhookUrl`) to its URL, off the workers' path.
///
/// Deliveries are rows the store writes in the transaction that finishes the job, so none is lost with the
/// process. Every server claims due ones for a while (others skip them meanwhile), POSTs the final job as
/// JSON with `X-Offload-Signature: sha256=<hex HMAC-SHA256 of the body>`, and on anything but a 2xx answer
/// tries again after `retryBase`, doubling each time (at most an hour), until `maxAttempts`.
struct WebhookSender: Maintenance {
    let store: any JobStore
    let secret: String
    let retryBase: TimeInterval
    let maxAttempts: Int
    let interval: Duration
    let logger: Logger
    /// How long one POST may take; a claim lasts longer, so a slow receiver is not called twice at once.
    let timeout: TimeAmount = .seconds(10)

    var name: String { "webhook-sender" }
    /// Every server sends: claims keep two from sending one delivery at once, and more senders keep up with more.
    var leaderOnly: Bool { false }

    func round(now: Date) async throws -> Int {
        try await sendDue()
    }

    /// Deliveries claimed (and sent at once) per round.
    static let claimSize = 32

    /// Sends what is due, a claim at a time, until a claim comes back short: deliveries keep up with any rate
    /// of finished jobs, not `claimSize` an interval (the chaos soak found them an hour behind at 40 jobs/s).
    /// Answers how many it tried.
    @discardableResult
    func sendDue() async throws -> Int {
        var tried = 0
        while true {
            let due = try await store.claimWebhooks(now: Date(), claimFor: 60, limit: Self.claimSize)
            await withTaskGroup(of: Void.self) { group in
                for delivery in due { group.addTask { await send(delivery) } }
            }
            tried += due.count
            if due.count < Self.claimSize || Task.isCancelled { return tried }
        }
    }

    /// The signature header value of `body`: receivers recompute it with the shared secret.
    static func signature(of body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + Hex.encode(code)
    }

    private func send(_ delivery: WebhookDelivery) async {
        var logger = self.logger
        logger[metadataKey: "jobId"] = "\(delivery.jobId)"
        var failure: String
        do {
            guard let job = try await store.job(id: delivery.jobId, tenant: nil) else {
                try await store.finishWebhook(jobId: delivery.jobId, delivered: false, error: "the job no longer exists", retryAt: nil, at: Date())
                return
            }
            let body = job.jsonValue.jsonBytes()
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "offload-webhook")
            request.headers.add(name: "X-Offload-Signature", value: Self.signature(of: body, secret: secret))
            request.headers.add(name: "X-Offload-Job-Id", value: job.jobId)
            request.headers.add(name: "X-Offload-Attempt", value: "\(delivery.attempt)")
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(response.status.code) {
                try await store.finishWebhook(jobId: delivery.jobId, delivered: true, error: nil, retryAt: nil, at: Date())
                logger.info("webhook delivered", metadata: ["attempt": "\(delivery.attempt)"])
                return
            }
            failure = "the receiver answered \(response.status.code)"
        } catch {
            failure = "\(error)"
        }
        let retryAt = delivery.attempt < maxAttempts
            ? Date().addingTimeInterval(min(3_600, retryBase * pow(2, Double(delivery.attempt - 1)))) : nil
        logger.warning(
            "webhook failed", metadata: ["attempt": "\(delivery.attempt)", "error": "\(failure)", "retry": "\(retryAt != nil)"])
        try? await store.finishWebhook(jobId: delivery.jobId, delivered: false, error: failure, retryAt: retryAt, at: Date())
    }
}

/// What logs show of the sender: never the secret.
extension WebhookSender: CustomStringConvertible {
    var description: String { "WebhookSender(maxAttempts: \(maxAttempts))" }
}
