import Foundation

/// What curl saw: the status it reported, the response headers and body it received.
struct CurlResult: Sendable, CustomStringConvertible {
    var exitStatus: ExitStatus
    /// `%{http_code}`: 0 when no response came.
    var status: Int
    /// Header block(s) as received (`-D`), interim responses included.
    var headerText: String
    var body: [UInt8]
    var stderr: String
    /// Extra `-w` variables, in the order asked.
    var writeOut: [String]

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Header values of the last (final) response, case-insensitive name.
    func values(_ name: String) -> [String] {
        let blocks = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        guard let last = blocks.last else { return [] }
        return last.components(separatedBy: "\r\n").dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            guard line[..<colon].lowercased() == name.lowercased() else { return nil }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    func header(_ name: String) -> String? { values(name).first }

    var description: String {
        "curl \(exitStatus), status \(status), headers \(headerText.debugDescription), body \(bodyText.prefix(300).debugDescription), stderr \(stderr.debugDescription)"
    }
}

/// A curl run in the background (a child process).
final class CurlRun: @unchecked Sendable {
    private let directory: TemporaryDirectory
    private let child: ChildProcess
    private let timeout: Duration
    private let extraWriteOut: [String]

    init(_ arguments: [String], timeout: Duration, writeOut: [String]) throws {
        directory = try TemporaryDirectory()
        self.timeout = timeout
        extraWriteOut = writeOut
        let format = (["%{http_code}"] + writeOut).joined(separator: "\\n")
        let seconds = String(format: "%.3f", Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        child = try ChildProcess(
            executable: "/usr/bin/curl",
            arguments: ["-s", "-S", "--max-time", seconds, "-o", directory.path("body"), "-D", directory.path("headers"),
                        "-w", format] + arguments,
            stdoutPath: directory.path("stdout"), stderrPath: directory.path("stderr"))
    }

    var isRunning: Bool { child.isRunning }

    func result() async -> CurlResult {
        let status = await child.waitForExit(timeout: timeout + .seconds(5))
        if status == nil { await child.kill() }
        let lines = directory.read("stdout").components(separatedBy: "\n")
        let body = FileManager.default.contents(atPath: directory.path("body")).map { [UInt8]($0) } ?? []
        return CurlResult(exitStatus: status ?? .signaled(9), status: Int(lines.first ?? "") ?? 0,
                          headerText: directory.read("headers"), body: body, stderr: directory.read("stderr"),
                          writeOut: Array(lines.dropFirst()))
    }
}

/// Runs `curl -s -S ARGS` and returns what it received. `writeOut` adds `-w` variables
/// (e.g. "%{num_connects}") to the result.
func curl(_ arguments: String..., timeout: Duration = .seconds(10), writeOut: [String] = []) async throws -> CurlResult {
    try await CurlRun(arguments, timeout: timeout, writeOut: writeOut).result()
}

func curl(arguments: [String], timeout: Duration = .seconds(10), writeOut: [String] = []) async throws -> CurlResult {
    try await CurlRun(arguments, timeout: timeout, writeOut: writeOut).result()
}

/// Starts curl without waiting for it.
func startCurl(_ arguments: String..., timeout: Duration = .seconds(10)) throws -> CurlRun {
    try CurlRun(arguments, timeout: timeout, writeOut: [])
}
