import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one test's config, logs and data; removed when released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        var template = Array("/tmp/baton-integ-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SpawnError(description: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        url = URL(fileURLWithPath: String(cString: made), isDirectory: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let target = path(name)
        try data.write(to: URL(fileURLWithPath: target))
        return target
    }

    /// Writes a configuration file; like every real one, it ends with a newline.
    @discardableResult
    func writeConfig(_ name: String, _ text: String) throws -> String {
        try write(name, text.hasSuffix("\n") ? text : text + "\n")
    }

    /// The file's text, or "" when it does not exist.
    func read(_ name: String) -> String {
        guard let data = FileManager.default.contents(atPath: path(name)) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
