import Foundation
import Testing

private let chaosScript = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Chaos/chaos.py").path

@Suite("Chaos soak")
struct ChaosTests {
    @Test("under kill -9, SIGTERM, PostgreSQL restarts, a full disk and hostile clients nothing acknowledged is lost or doubled")
    func shortSoak() async throws {
        // The short mode of Tests/Chaos/chaos.py against the offload binary this build made (README: the long mode).
        let (status, output) = try await runProgram("/usr/bin/env", ["python3", chaosScript, "--offload", OffloadProcess.binary, "--short"])
        print(output.split(separator: "\n").filter { $0.hasPrefix("chaos") }.joined(separator: "\n"))
        #expect(status == 0, "\(output.suffix(12_000))")
        #expect(output.contains("lost 0, doubled 0, stuck 0, sse gaps 0, sse duplicates 0, webhooks missing 0"))
    }
}
