import Foundation
import NIOHTTP1
import OffloadCore
import OffloadServer
import OffloadWorker
import Testing

/// Where the browser test keeps its screenshots: `.build/test-output/dashboard` in the package.
private let screenshotDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".build/test-output/dashboard").path

private let browserScript = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("browser/dashboard_test.py").path

@Suite("Dashboard", .serialized)
struct DashboardTests {
    @Test("the page, its script and styles come from the binary with a CSP without inline scripts, nosniff and no framing")
    func securityHeaders() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            for (path, type) in [("/", "text/html"), ("/dashboard/app.js", "text/javascript"), ("/dashboard/app.css", "text/css")] {
                let reply = try await server.call("GET", path, key: nil)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.headers.first(name: "Content-Type")?.hasPrefix(type) == true, "\(path)")
                let policy = try #require(reply.headers.first(name: "Content-Security-Policy"))
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "\(policy)")
                #expect(policy.contains("frame-ancestors 'none'"))
                #expect(reply.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(reply.headers.first(name: "X-Frame-Options") == "DENY")
                // A browser that has this version gets a 304 without the body.
                let etag = try #require(reply.headers.first(name: "ETag"))
                let again = try await server.call("GET", path, key: nil, headers: [("If-None-Match", etag)])
                #expect(again.status == 304)
            }
            let page = try await server.call("GET", "/", key: nil)
            let html = try #require(page.json.stringValue)
            #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style in the page")
        }
    }

    @Test("a headless Chromium signs in, submits a job and sees it reach 100%, cancels a running job, pauses a queue")
    func browser() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is not installed (.ci/run installs it)")
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "chromium-driver is not installed")
        try await TestServer.with(configure: {
            $0.workers = 4
            $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true))
        }) { server in
            try? FileManager.default.removeItem(atPath: screenshotDirectory)
            // The python3 on PATH: the one .ci/run installed Selenium for.
            let (status, output) = try await runProgram("/usr/bin/env", ["python3", browserScript], environment: [
                "OFFLOAD_URL": server.baseURL, "OFFLOAD_ADMIN_KEY": TestServer.adminKey, "SCREENSHOT_DIR": screenshotDirectory,
            ])
            #expect(status == 0, "\(output.suffix(8_000))")
            #expect(output.contains("dashboard: all steps passed"))
            let shots = (try? FileManager.default.contentsOfDirectory(atPath: screenshotDirectory)) ?? []
            #expect(shots.filter { $0.hasSuffix(".png") }.count >= 9, "screenshots in \(screenshotDirectory): \(shots)")
        }
    }
}
