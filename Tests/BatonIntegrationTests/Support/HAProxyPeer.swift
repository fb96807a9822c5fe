import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real HAProxy, run as `haproxy -f FILE -db` (foreground, no daemon, no master) on a configuration of the
/// test's own, in a temporary directory: the reference a differential test compares Baton with. It is our own
/// instance on free ports; whether Debian's haproxy service runs (on its own configuration) does not matter.
///
/// The binary is `HAPROXY_BINARY` if set, else the first of /usr/sbin/haproxy, /usr/local/sbin/haproxy and the
/// PATH. A missing binary is an error, never a skipped test: scripts/install-deps.sh installs it.
final class HAProxyPeer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let configPath: String
    let child: ChildProcess

    var pid: pid_t { child.pid }
    /// What HAProxy printed (alerts, warnings; `-db` keeps its messages on stderr).
    var stderr: String { directory.read("haproxy.stderr") }
    var stdout: String { directory.read("haproxy.stdout") }

    static func binaryPath() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let override = environment["HAPROXY_BINARY"], !override.isEmpty { return override }
        var candidates = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/haproxy")
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw SpawnError(description: """
            haproxy not found (looked at \(candidates.joined(separator: ", "))); \
            run scripts/install-deps.sh or set HAPROXY_BINARY
            """)
    }

    private init(directory: TemporaryDirectory, configPath: String, child: ChildProcess) {
        self.directory = directory
        self.configPath = configPath
        self.child = child
    }

    /// Writes `config`, starts HAProxy on it and waits until every port in `listening` has a listener. Throws
    /// (with HAProxy's stderr) if it exits or is not listening in time.
    static func start(config: String, listening ports: [UInt16], directory: TemporaryDirectory? = nil,
                      readyTimeout: Duration = .seconds(15)) async throws -> HAProxyPeer {
        let executable = try binaryPath()
        let directory = try directory ?? TemporaryDirectory()
        let configPath = try directory.writeConfig("haproxy.cfg", config)
        let child = try ChildProcess(executable: executable, arguments: ["-f", configPath, "-db"],
                                     workingDirectory: directory.url.path,
                                     stdoutPath: directory.path("haproxy.stdout"),
                                     stderrPath: directory.path("haproxy.stderr"))
        let peer = HAProxyPeer(directory: directory, configPath: configPath, child: child)
        // The shared deadline poll (as BatonProcess waits for Baton): listening, or exited.
        let ready = await eventually(timeout: readyTimeout) {
            child.exitStatus != nil || ports.allSatisfy(isListening(port:))
        }
        if let status = child.exitStatus {
            throw SpawnError(description: """
                haproxy \(status) before listening on \(ports); config:
                \(config)
                stderr:
                \(peer.stderr)
                """)
        }
        if !ready {
            await child.kill()
            throw SpawnError(description: "haproxy was not listening on \(ports) after \(readyTimeout); stderr:\n\(peer.stderr)")
        }
        return peer
    }

    /// Stops HAProxy at once (SIGKILL) and reaps it; deinit does it otherwise.
    func stop() async {
        await child.kill()
    }
}
