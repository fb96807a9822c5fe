import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real `baton` binary running a real configuration file, as `baton -db -f FILE`.
final class BatonProcess: @unchecked Sendable {
    let directory: TemporaryDirectory
    let configPath: String
    let child: ChildProcess

    var pid: pid_t { child.pid }
    /// Everything Baton printed on standard output so far (logs with `log stdout`).
    var stdout: String { directory.read("baton.stdout") }
    var stderr: String { directory.read("baton.stderr") }

    /// The binary under test: `BATON_BINARY` if set, otherwise `baton` beside the test bundle
    /// (…/debug/baton, which SwiftPM builds because the test target depends on it).
    ///
    /// `BATON_BINARY=/usr/sbin/haproxy` runs the suite against HAProxy itself (same command
    /// line), which checks that an expectation is HAProxy's. With HAProxy 2.6 the tests that
    /// fail are, by design: Baton's own -v/-W behaviour and examples/; the framing cases where
    /// Baton is stricter than HAProxy (CL+TE, obs-fold, bare LF, unknown transfer-coding, 431);
    /// removal of response headers named by Connection (and of Keep-Alive, Proxy-Connection,
    /// Trailer and a stray Upgrade in requests); and httplog's %B, which HAProxy 2.6 counts from
    /// its internal message form rather than the bytes the client received.
    static var binaryPath: String {
        if let override = ProcessInfo.processInfo.environment["BATON_BINARY"], !override.isEmpty {
            return override
        }
        var candidates: [String] = []
        for start in [ProcessInfo.processInfo.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            var directory = URL(fileURLWithPath: start).resolvingSymlinksInPath().deletingLastPathComponent()
            // Inside a bundle (…/debug/X.xctest/Contents/MacOS/X), climb to the build directory.
            for _ in 0..<4 {
                candidates.append(directory.appendingPathComponent("baton").path)
                directory.deleteLastPathComponent()
            }
        }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("baton").path)
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
        }
        return candidates.first ?? "baton"
    }

    private init(directory: TemporaryDirectory, configPath: String, child: ChildProcess) {
        self.directory = directory
        self.configPath = configPath
        self.child = child
    }

    /// Writes `config` to a file and starts `baton -db -f FILE`, then waits until every port in
    /// `listening` has a listener. Throws (with Baton's stderr) if Baton exits or is not ready in
    /// time.
    static func start(config: String, listening ports: [UInt16], directory: TemporaryDirectory? = nil,
                      arguments: [String] = ["-db"],
                      inheritedFDs: [(source: Int32, target: Int32)] = [],
                      environment: [String: String]? = nil,
                      readyTimeout: Duration = .seconds(15)) async throws -> BatonProcess {
        let directory = try directory ?? TemporaryDirectory()
        let configPath = try directory.writeConfig("baton.cfg", config)
        let child = try ChildProcess(executable: binaryPath, arguments: arguments + ["-f", configPath],
                                     environment: environment,
                                     stdoutPath: directory.path("baton.stdout"),
                                     stderrPath: directory.path("baton.stderr"),
                                     inheritedFDs: inheritedFDs)
        let baton = BatonProcess(directory: directory, configPath: configPath, child: child)
        let deadline = ContinuousClock.now + readyTimeout
        while !ports.allSatisfy(isListening(port:)) {
            if let status = child.exitStatus {
                throw SpawnError(description: """
                    baton \(status) before listening on \(ports); config:
                    \(config)
                    stderr:
                    \(baton.stderr)
                    """)
            }
            if ContinuousClock.now >= deadline {
                await child.kill()
                throw SpawnError(description: "baton was not listening on \(ports) after \(readyTimeout); stderr:\n\(baton.stderr)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return baton
    }

    func send(_ signal: Int32) {
        child.send(signal)
    }

    func waitForExit(timeout: Duration) async -> ExitStatus? {
        await child.waitForExit(timeout: timeout)
    }

    var exitStatus: ExitStatus? { child.exitStatus }

    /// Stops Baton at once (SIGKILL). Tests call this at their end; deinit does it otherwise.
    func stop() async {
        await child.kill()
    }

    /// Resident memory of the Baton process, from /proc/PID/status (VmRSS), in bytes.
    func residentBytes() -> Int? {
        guard let text = readProcFile("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").dropFirst().first { Int($0) != nil }
            return digits.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Lines Baton printed on standard output that contain `text`.
    func stdoutLines(containing text: String) -> [String] {
        stdout.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// Waits until Baton has printed at least `count` lines on stdout that satisfy `predicate`,
    /// and returns them; returns what there is after `timeout`.
    func waitForStdoutLines(count: Int = 1, timeout: Duration = .seconds(5),
                            where predicate: (String) -> Bool = { _ in true }) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = stdout.split(separator: "\n").map(String.init).filter(predicate)
            if lines.count >= count || ContinuousClock.now >= deadline { return lines }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The `defaults` section most tests start from: HTTP mode, and timeouts long enough never to
/// fire by accident while the whole suite runs in parallel on two loaded cores (a test about a
/// timeout sets a short one itself).
func httpDefaults(_ extra: String = "") -> String {
    """
    defaults
        mode http
        timeout connect 5s
        timeout client 30s
        timeout server 30s
    \(extra)
    """
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}
