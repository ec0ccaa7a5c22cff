import Foundation
import Logging
import OffloadCore
import OffloadStore
import ServiceLifecycle

/// Ends every open SSE stream when shutdown reaches it (after the workers stopped, before the HTTP server).
struct StreamCloser: Service {
    let bus: EventBus

    func run() async {
        try? await gracefulShutdown()
        bus.close()
    }
}

/// Returns when shutdown is requested; ServiceGroup then shuts the whole server down gracefully.
struct ShutdownOnRequest: Service {
    let request: Latch<Void>

    func run() async {
        await cancelWhenGracefulShutdown {
            _ = await request.wait()
        }
    }
}
