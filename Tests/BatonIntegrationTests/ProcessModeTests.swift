import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// How the process runs: `-D` (daemon), `-p`/`pidfile`, `-q`, and `user`/`group`.
@Suite("Process modes")
struct ProcessModeTests {
    let baton = BatonProcess.binaryPath

    static func config(port: UInt16, upstream: UInt16, global: String = "") -> String {
        """
        global
        \(global)
        \(httpDefaults())
        listen web
            bind 127.0.0.1:\(port)
            server app1 127.0.0.1:\(upstream)
        """
    }

    /// Whether `pid` has ended (gone, or a zombie nobody has reaped yet).
    static func ended(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return true }
        let status = readProcFile("/proc/\(pid)/status") ?? ""
        return status.contains("State:\tZ")
    }

    @Test("-D: the command returns once the daemon serves; the pidfile (-p or global pidfile) names the daemon",
          arguments: [false, true])
    func daemon(globalPidFile: Bool) async throws {
        let upstream = try await TestUpstream.named("daemon")
        let port = freePort()
        let directory = try TemporaryDirectory()
        let pidFile = directory.path("baton.pid")
        let config = try directory.writeConfig("d.cfg", Self.config(port: port, upstream: upstream.port,
                                                                    global: globalPidFile ? "    pidfile \(pidFile)" : ""))
        let arguments = globalPidFile ? ["-D", "-f", config] : ["-D", "-p", pidFile, "-f", config]
        let result = try await runCommand(baton, arguments, timeout: .seconds(10))
        let pidText = directory.read("baton.pid").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try #require(pid_t(pidText), "pidfile holds \(pidText.debugDescription); stderr: \(result.stderr)")
        defer { if !Self.ended(daemon) { kill(daemon, SIGKILL) } }
        #expect(result.status == .exited(0), "stderr: \(result.stderr)")
        #expect(daemon != result.pid)
        #expect(!Self.ended(daemon))
        #expect(isListening(port: port), "the daemon is not listening when the command returns")
        let response = try await curl("http://127.0.0.1:\(port)/")
        #expect(response.status == 200)
        #expect(response.bodyText == "daemon")
        kill(daemon, SIGTERM)
        #expect(await eventually(timeout: .seconds(3)) { Self.ended(daemon) }, "the daemon ignored SIGTERM")
    }

    @Test("-D with a port already taken: the command fails (exit 1) with an alert instead of returning 0")
    func daemonStartupFailure() async throws {
        let upstream = try await TestUpstream.named("x")
        let blocker = try await TestUpstream.named("blocker")
        let directory = try TemporaryDirectory()
        let config = try directory.writeConfig("d.cfg", Self.config(port: blocker.port, upstream: upstream.port))
        let result = try await runCommand(baton, ["-D", "-f", config], timeout: .seconds(10))
        #expect(result.status == .exited(1))
        #expect(result.stderr.contains("[ALERT]"), "stderr: \(result.stderr)")
    }

    @Test("-c -q: a valid file is checked silently, exit 0")
    func quietCheck() async throws {
        let directory = try TemporaryDirectory()
        let config = try directory.writeConfig("q.cfg", Self.config(port: 8080, upstream: 9001))
        let result = try await runCommand(baton, ["-c", "-q", "-f", config])
        #expect(result.status == .exited(0))
        #expect(result.stdout.isEmpty, "stdout: \(result.stdout)")
    }

    @Test("global user/group: Baton binds, then serves as that user", .enabled(if: getuid() == 0, "needs root"))
    func dropsPrivileges() async throws {
        let upstream = try await TestUpstream.named("unprivileged")
        let port = freePort()
        let nobody = try #require(getpwnam("nobody")?.pointee.pw_uid)
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    user nobody\n    group nogroup"),
            listening: [port])
        let result = try await curl("http://127.0.0.1:\(port)/")
        #expect(result.status == 200 && result.bodyText == "unprivileged", "\(result); Baton's stderr: \(baton.stderr)")
        let status = readProcFile("/proc/\(baton.pid)/status") ?? ""
        let uidLine = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        #expect(uidLine.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().allSatisfy { $0 == "\(nobody)" },
                "\(uidLine)")
        await baton.stop()
    }
}
