import Hummingbird
import OffloadCore
import OffloadStore

/// `GET /health` (the process answers) and `GET /ready` (the store answers too).
struct HealthRoutes {
    let store: any JobStore

    func register(on router: Router<OffloadRequestContext>) {
        router.get("/health") { _, _ -> Response in
            try HTTPJSON.response(["status": "ok"])
        }
        router.get("/ready") { _, _ -> Response in
            try await store.ping()
            return try HTTPJSON.response(["status": "ready"])
        }
    }
}
