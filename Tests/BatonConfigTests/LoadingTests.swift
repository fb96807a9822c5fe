import BatonRules
import Foundation
import Testing
@testable import BatonConfig

@Suite("loading files and directories")
struct LoadingTests {
    let loader = ConfigurationLoader(environment: [:], resolver: .numericOnly)

    @Test func directoryFilesInLexicalOrder() throws {
        let dir = try TemporaryDirectory()
        try dir.write("20-backends.cfg", "backend b2\nbackend b3\n  bogus\n")
        try dir.write("10-global.cfg", "global\n  maxconn 10\nbackend b1\n")
        try dir.write("Z-upper.cfg", "backend b0\n")
        try dir.write("notes.txt", "this is not configuration\n")
        try dir.write(".hidden.cfg", "this is not read either\n")
        try FileManager.default.createDirectory(atPath: dir.path + "/sub.cfg", withIntermediateDirectories: false)
        let result = loader.load(paths: [dir.path])
        #expect(result.alerts == ["config : parsing [\(dir.path)/20-backends.cfg:3] : unknown keyword 'bogus' in 'backend' section"])
        let second = loader.load(paths: [dir.path + "/10-global.cfg", dir.path + "/Z-upper.cfg"])
        #expect(second.configuration?.proxies.map(\.name) == ["b1", "b0"])

        try dir.write("20-backends.cfg", "backend b2\nbackend b3\n")
        let fixed = loader.load(paths: [dir.path])
        #expect(fixed.configuration?.proxies.map(\.name) == ["b1", "b2", "b3", "b0"])
        #expect(fixed.configuration?.global.maxConnections == 10)
    }

    @Test func missingPathsAreAlerts() {
        let result = loader.load(paths: ["/nonexistent/baton.cfg", "/nonexistent-dir/"])
        #expect(result.alerts == [
            "config : Cannot open configuration file/directory /nonexistent/baton.cfg : No such file or directory",
            "config : Cannot open configuration file/directory /nonexistent-dir/ : No such file or directory",
        ])
        #expect(result.configuration == nil)
    }

    @Test func unreadableFilesAreAlerts() throws {
        guard getuid() != 0 else { return }  // root reads everything
        let dir = try TemporaryDirectory()
        let file = try dir.write("secret.cfg", "global\n")
        chmod(file, 0)
        let result = loader.load(paths: [file])
        #expect(result.alerts == ["config : Could not open configuration file \(file) : Permission denied"])
    }

    @Test func errorFilesAreReadAtLoad() throws {
        let dir = try TemporaryDirectory()
        let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
        let path = try dir.write("503.http", response)
        let result = loader.load(sources: [("t.cfg", "defaults\n  errorfile 503 \(path)\nbackend be\n")])
        let errorFile = try #require(result.configuration?.proxy(named: "be")?.errorFiles[503])
        #expect(errorFile == ErrorFile(status: 503, path: path, contents: Array(response.utf8)))
    }

    @Test func relativeErrorFilesAreRelativeToTheWorkingDirectory() throws {
        let name = "baton-test-\(UUID().uuidString).http"
        let path = FileManager.default.currentDirectoryPath + "/" + name
        try "HTTP/1.1 200 OK\r\n\r\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = loader.load(sources: [("t.cfg", "backend be\n  errorfile 200 \(name)\n")])
        #expect(result.configuration?.proxies.first?.errorFiles[200]?.contents == Array("HTTP/1.1 200 OK\r\n\r\n".utf8))
    }

    @Test func returnFilesAreReadAtLoad() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("body.json", "{\"ok\":true}")
        let result = loader.load(sources: [("t.cfg", """
            frontend fe
                mode http
                bind :80
                timeout client 1s
                http-request return status 200 content-type application/json file \(path)
            """)])
        #expect(result.configuration?.proxies.first?.httpRequestRules.first?.action
            == .returnResponse(LocalResponse(status: 200, contentType: "application/json",
                                             body: .file(Array("{\"ok\":true}".utf8), isFullResponse: false))))
    }

    @Test func filesAndDirectoriesMix() throws {
        let dir = try TemporaryDirectory()
        try dir.write("b.cfg", "backend from_dir\n")
        let single = try TemporaryDirectory()
        let file = try single.write("main.conf", "global\n  daemon\n")
        let result = loader.load(paths: [file, dir.path])
        #expect(result.configuration?.global.daemon == true)
        #expect(result.configuration?.proxies.map(\.name) == ["from_dir"])
    }
}
