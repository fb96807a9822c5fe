import Foundation
import Testing

/// `baton` as an operator runs it from a shell: `-c`, `-v`, `-vv`, `-cc`, refused flags, and the
/// configurations shipped in examples/.
@Suite("Command line")
struct CommandLineTests {
    let baton = BatonProcess.binaryPath

    static let validConfig = """
        global
            maxconn 100
        \(httpDefaults())
        frontend web
            bind 127.0.0.1:8080
            default_backend app
        backend app
            balance roundrobin
            server app1 127.0.0.1:9001 weight 2
            server app2 127.0.0.1:9002 backup
        """

    @Test("-c accepts a valid file: 'Configuration file is valid', exit 0")
    func checkValid() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.writeConfig("valid.cfg", Self.validConfig)
        let result = try await runCommand(baton, ["-c", "-f", path])
        #expect(result.status == .exited(0), "stderr: \(result.stderr)")
        #expect(result.stdout == "Configuration file is valid\n")
        #expect(!result.stderr.contains("[ALERT]"))
    }

    @Test("-c rejects an unknown keyword with HAProxy's alert line naming file and line, exit 1")
    func checkInvalid() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.writeConfig("bad.cfg", """
            defaults
                mode http
                timeout connect 1s
                timeout client 5s
                timeout server 5s
            listen web
                bind 127.0.0.1:8080
                frobnicate on
                server s1 127.0.0.1:9001
            """)
        let result = try await runCommand(baton, ["-c", "-f", path])
        #expect(result.status == .exited(1))
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains("[ALERT]    (\(result.pid)) : config : parsing [\(path):8] : unknown keyword 'frobnicate' in 'listen' section"),
                "stderr: \(result.stderr)")
        #expect(lines.contains("[ALERT]    (\(result.pid)) : config : Fatal errors found in configuration."),
                "stderr: \(result.stderr)")
        #expect(!result.stdout.contains("Configuration file is valid"))
    }

    @Test("-c reports every faulty line, each with its own line number")
    func checkReportsEachError() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.writeConfig("two-errors.cfg", """
            defaults
                mode http
                timeout connect 1s
                timeout client 5s
                timeout server 5x
            frontend web
                bind 127.0.0.1:8080
                default_backend app
            backend app
                balance roundrobin
                server app1 127.0.0.1:9001 wieght 2
            """)
        let result = try await runCommand(baton, ["-c", "-f", path])
        #expect(result.status == .exited(1))
        let alerts = result.stderr.split(separator: "\n").filter { $0.hasPrefix("[ALERT]    (\(result.pid)) : config : ") }
        for line in [5, 11] {
            #expect(alerts.contains { $0.contains("[\(path):\(line)] : ") }, "no alert for line \(line); stderr: \(result.stderr)")
        }
    }

    @Test("-f DIR loads the directory's files in name order; an error names the file it is in")
    func configDirectory() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path("conf.d"), withIntermediateDirectories: false)
        try directory.writeConfig("conf.d/10-defaults.cfg", httpDefaults())
        try directory.writeConfig("conf.d/20-web.cfg", """
            frontend web
                bind 127.0.0.1:8080
                default_backend app
            """)
        try directory.writeConfig("conf.d/30-app.cfg", """
            backend app
                server app1 127.0.0.1:9001
            """)
        let valid = try await runCommand(baton, ["-c", "-f", directory.path("conf.d")])
        #expect(valid.status == .exited(0), "stderr: \(valid.stderr)")
        #expect(valid.stdout == "Configuration file is valid\n")

        let broken = try directory.writeConfig("conf.d/30-app.cfg", """
            backend app
                server app1 127.0.0.1:9001
                balance nonsense
            """)
        let invalid = try await runCommand(baton, ["-c", "-f", directory.path("conf.d")])
        #expect(invalid.status == .exited(1))
        #expect(invalid.stderr.contains("[\(broken):3] : "), "stderr: \(invalid.stderr)")
    }

    @Test("-v prints the version line, exit 0")
    func version() async throws {
        let result = try await runCommand(baton, ["-v"])
        #expect(result.status == .exited(0))
        let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.wholeMatch(of: #/Baton version \d+\.\d+\.\d+\S* \d{4}/\d{2}/\d{2}.*/#) != nil, "stdout: \(result.stdout)")
    }

    @Test("-vv prints the version line then the build options, exit 0")
    func buildOptions() async throws {
        let short = try await runCommand(baton, ["-v"])
        let result = try await runCommand(baton, ["-vv"])
        #expect(result.status == .exited(0))
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == short.stdout.split(separator: "\n").first.map(String.init))
        #expect(lines.count > 3, "stdout: \(result.stdout)")
        #expect(result.stdout.contains("Built with"), "stdout: \(result.stdout)")
    }

    @Test("-cc evaluates a condition: exit 0 if true, 1 if false, 2 if it cannot be parsed",
          arguments: [
              ("streq(abc,abc)", Int32(0)), ("streq(abc,abd)", 1), ("strneq(abc,abd)", 0),
              ("defined(BATON_ITEST_SET)", 0), ("defined(BATON_ITEST_UNSET)", 1),
              ("streq(\"$BATON_ITEST_SET\",yes)", 0), ("streq(", 2),
          ])
    func checkCondition(expression: String, expected: Int32) async throws {
        let result = try await runCommand(baton, ["-cc", expression], environment: ["BATON_ITEST_SET": "yes"])
        #expect(result.status == .exited(expected), "stdout: \(result.stdout) stderr: \(result.stderr)")
        if expected == 2 {
            #expect(result.stderr.contains("[ALERT]"), "stderr: \(result.stderr)")
        }
    }

    @Test("master-worker flags are refused with a message and exit 1, before anything listens",
          arguments: [["-W"], ["-Ws"], ["-S", "/tmp/baton-itest-master.sock"], ["-sf", "1"], ["-st", "1"],
                      ["-x", "/tmp/baton-itest-x.sock"]])
    func masterWorkerRefused(flag: [String]) async throws {
        let directory = try TemporaryDirectory()
        let port = freePort()
        let path = try directory.writeConfig("mw.cfg", """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.1:9001
            """)
        // Valid configuration: were the flag accepted, Baton would serve until killed and
        // runCommand would time out.
        let result = try await runCommand(baton, ["-db", "-f", path] + flag, timeout: .seconds(5))
        #expect(result.status == .exited(1))
        #expect(result.stderr.contains("'\(flag[0])'") || result.stderr.contains(" \(flag[0]) "), "stderr: \(result.stderr)")
        #expect(!isListening(port: port))
    }

    @Test("examples/ holds example configurations")
    func examplesExist() {
        #expect(!Self.exampleFiles().isEmpty, "no .cfg file in \(Self.examplesDirectory.path)")
    }

    @Test("every configuration in examples/ passes -c", arguments: CommandLineTests.exampleFiles())
    func exampleIsValid(file: String) async throws {
        let result = try await runCommand(baton, ["-c", "-f", file], workingDirectory: Self.packageRoot.path)
        #expect(result.status == .exited(0), "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Configuration file is valid"))
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let examplesDirectory = packageRoot.appendingPathComponent("examples")

    static func exampleFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: examplesDirectory.path)
        var files: [String] = []
        while let name = enumerator?.nextObject() as? String {
            if name.hasSuffix(".cfg") { files.append(examplesDirectory.appendingPathComponent(name).path) }
        }
        return files.sorted()
    }
}
