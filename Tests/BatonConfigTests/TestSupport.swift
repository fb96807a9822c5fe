import BatonCore
import Foundation
import Testing
@testable import BatonConfig

/// Loads one in-memory file named `t.cfg` with no environment and no DNS.
func load(_ text: String, name: String = "t.cfg", environment: [String: String] = [:],
          resolver: HostResolver = .numericOnly) -> LoadResult {
    ConfigurationLoader(environment: environment, resolver: resolver).load(sources: [(name: name, text: text)])
}

extension LoadResult {
    /// Each diagnostic as `[TAG] config : parsing [file:line] : message`, the pid left out.
    var lines: [String] { diagnostics.map { "\($0.severity.tag)\($0.description)" } }
    var alerts: [String] { diagnostics.filter { $0.severity == .alert }.map(\.description) }
    var warnings: [String] { diagnostics.filter { $0.severity == .warning }.map(\.description) }
}

/// The alerts of a configuration made of `body` inside a section, e.g. `backend be`.
func alerts(in section: String, _ body: String...) -> [String] {
    load(([section] + body).joined(separator: "\n")).alerts
}

/// Timeouts that silence the "missing timeouts" warning.
let quietTimeouts = """
    timeout client 5s
    timeout server 5s
    timeout connect 5s
"""

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/baton-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
