import Foundation
import OffloadProcessing
#if canImport(Glibc)
import Glibc
#endif

/// One `sh -c` command in its own process group, its stdout and stderr read line by line as they come.
///
/// Cancelling the task that runs it kills the whole process group (SIGKILL), so nothing it started survives
/// a cancel or a timeout; when the command itself exits, whatever it left running in its group is killed too.
struct ShellCommand {
    var command: String
    var directory: String
    var environment: [String: String]

    /// A line of output, cut at `maxLineBytes`.
    struct Line: Sendable {
        var stream: String
        var text: String
    }

    static let maxLineBytes = 64 * 1024

    /// Runs the command; `onLine` gets every line in the order each stream produced them. Answers the exit
    /// code (128 + signal when a signal ended it).
    func run(onLine: @escaping @Sendable (Line) -> Void) async throws -> Int32 {
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        guard pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else { throw POSIXError(.EMFILE) }
        // The parent's ends must not leak into other children the worker spawns.
        _ = fcntl(stdoutPipe[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(stderrPipe[0], F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        for fd in [stdoutPipe[0], stdoutPipe[1], stderrPipe[0], stderrPipe[1]] {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        Self.closeInherited(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (pgid = its pid): one kill reaches everything it starts.
        posix_spawnattr_setpgroup(&attributes, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // `cd` inside the shell: the directory travels as an argument, never spliced into the command text.
        let arguments = ["/bin/sh", "-c", "cd \"$1\" || exit 126; exec /bin/sh -c \"$2\"", "offload-shell", directory, command]
        let environ = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(arguments) { argv in
            withCStrings(environ) { envp in posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp) }
        }
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO)
        }
        let group = pid
        let (stdoutRead, stderrRead) = (stdoutPipe[0], stderrPipe[0])
        return try await withTaskCancellationHandler {
            async let out: Void = Self.readLines(stdoutRead, stream: "stdout", onLine: onLine)
            async let err: Void = Self.readLines(stderrRead, stream: "stderr", onLine: onLine)
            let status = await Self.waitForExit(pid)
            // Whatever it left running in its group would hold the pipes open: end it with the command.
            kill(-group, SIGKILL)
            _ = await (out, err)
            try Task.checkCancellation()
            return status
        } onCancel: {
            kill(-group, SIGKILL)
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.34+'s `posix_spawn_file_actions_addclosefrom_np`, looked up at run time (Swift's Glibc module
    /// does not declare it).
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    /// Closes every descriptor above stderr in the child. Without it a command inherited the server's listening
    /// socket, its database files and other commands' pipes; a `sleep` left running after a kill -9 of the server
    /// kept its port bound, so the server could not start again until the command ended (found by the chaos soak).
    private static func closeInherited(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom {
            _ = closeFrom(&actions, 3)
            return
        }
        // An older C library: the descriptors open now (one closed meanwhile is skipped by posix_spawn).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    private static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                continuation.resume(returning: code)
            }
        }
    }

    /// Reads a pipe to its end on a thread of its own (a blocking read), handing over each line.
    private static func readLines(_ fd: Int32, stream: String, onLine: @escaping @Sendable (Line) -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                defer {
                    close(fd)
                    continuation.resume()
                }
                var pending: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                func emit(_ bytes: ArraySlice<UInt8>) {
                    var line = bytes
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    onLine(Line(stream: stream, text: String(decoding: line, as: UTF8.self)))
                }
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    pending.append(contentsOf: buffer[0..<count])
                    var start = pending.startIndex
                    while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                        emit(pending[start..<newline])
                        start = newline + 1
                    }
                    pending.removeSubrange(pending.startIndex..<start)
                    while pending.count >= maxLineBytes {
                        emit(pending[0..<maxLineBytes])
                        pending.removeFirst(maxLineBytes)
                    }
                }
                if !pending.isEmpty { emit(pending[...]) }
            }
        }
    }

    private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
