@testable import BatonRules
#if canImport(Glibc)
import Glibc
#endif

/// An in-memory transaction for rules to read and edit: a request and (optionally) a response with their
/// fields in order, the connection's addresses, the proxies' names and the variables.
final class TestSubject: RuleSubject {
    var requestFields: [(name: String, value: String)]
    var responseFields: [(name: String, value: String)] = []
    var requestMethod: String
    var requestTarget: String
    var requestVersion: String
    var requestBody: [UInt8]?
    var responseStatus: Int?
    var responseReason: String?
    var responseVersion: String?
    var clientAddress: IPAddress? = IPAddress("192.0.2.7")
    var clientPort: Int? = 5555
    var frontendAddress: IPAddress? = IPAddress("127.0.0.1")
    var frontendPort: Int? = 8080
    var frontendName = "fe"
    var backendName: String? = "be"
    var serverName: String? = "srv1"
    var isFirstRequest = true
    var servers: [String: Int] = ["be": 2, "other": 0]
    var connections: [String: Int] = ["be": 3]
    var uniqueID = "uid-1"
    var variables = VariableStore()
    var sessionVariables = VariableStore()
    var trackedCounters = TrackedCounters()
    var stickTables: [String: StickTable] = [:]
    var userlists: [String: Userlist] = [:]
    var captured: [Int: String] = [:]
    var isHTTP: Bool { true }

    func stickTable(named name: String) -> StickTable? { stickTables[name] }
    func userlist(named name: String) -> Userlist? { userlists[name] }
    func capture(_ value: String, slot: Int) { captured[slot] = value }

    init(_ method: String = "GET", _ target: String = "/", version: String = "1.1",
         _ fields: [(String, String)] = [("Host", "example.test")]) {
        requestMethod = method
        requestTarget = target
        requestVersion = version
        requestFields = fields.map { (name: $0.0, value: $0.1) }
    }

    /// Gives the subject a response (for http-response rules and response fetches).
    func respond(_ status: Int, _ fields: [(String, String)]) -> TestSubject {
        responseStatus = status
        responseVersion = "1.1"
        responseFields = fields.map { (name: $0.0, value: $0.1) }
        return self
    }

    private func fields(_ side: MessageSide) -> [(name: String, value: String)] {
        side == .request ? requestFields : responseFields
    }

    func fieldCount(_ side: MessageSide) -> Int { fields(side).count }
    func fieldName(_ side: MessageSide, at index: Int) -> String { fields(side)[index].name }
    func fieldValue(_ side: MessageSide, at index: Int) -> String { fields(side)[index].value }

    func setFieldValue(_ side: MessageSide, at index: Int, to value: String) {
        if side == .request { requestFields[index].value = value } else { responseFields[index].value = value }
    }

    func removeField(_ side: MessageSide, at index: Int) {
        if side == .request { requestFields.remove(at: index) } else { responseFields.remove(at: index) }
    }

    func appendField(_ side: MessageSide, name: String, value: String) {
        if side == .request { requestFields.append((name, value)) } else { responseFields.append((name, value)) }
    }

    func setResponseStatus(_ status: Int, reason: String?) {
        responseStatus = status
        responseReason = reason
    }

    func usableServers(backend: String?) -> Int? { servers[backend ?? backendName ?? ""] }
    func backendConnections(backend: String?) -> Int? { connections[backend ?? backendName ?? ""] }

    func logAlias(_ alias: LogAlias) -> String? {
        switch alias {
        case .clientIP: return clientAddress?.description
        case .clientPort: return clientPort.map(String.init)
        case .frontend: return frontendName
        case .backend: return backendName
        case .method: return requestMethod
        case .uri: return requestTarget
        case .version: return "HTTP/\(requestVersion)"
        default: return nil
        }
    }

    /// The request fields as "name: value" lines, for assertions.
    var requestLines: [String] { requestFields.map { "\($0.name): \($0.value)" } }
    var responseLines: [String] { responseFields.map { "\($0.name): \($0.value)" } }
}

/// Files the tests' rules may read (map and pattern files), by name.
enum TestFiles {
    static let contents: [String: String] = {
        var files: [String: String] = [
            "map.txt": "# comment\nk1 v1\nk2 two words\n/api api-prefix\nexample.com dom\n.php php-end\n",
            "patterns.txt": "abc\n# comment\n  xyz  \n\n  # not a comment\n",
            "bad-int.map": "k1 v1\n",
        ]
        // One small map per match method and output type: the key the method looks for, a value of the type.
        for (match, key) in MapFixture.keys {
            for (output, value) in MapFixture.values {
                files["\(match)-\(output).map"] = "# \(match)\n\(key) \(value)\n"
            }
        }
        return files
    }()

    static let environment = SampleExpressionParser.Environment { path in contents[path].map { Array($0.utf8) } }
}

enum MapFixture {
    /// Match method, key in the map, sample that must find it.
    static let keys: [(String, String)] = [
        ("str", "k1"), ("beg", "/api"), ("sub", "sub"), ("dir", "static"), ("dom", "example.com"), ("end", ".php"),
        ("reg", "^/re[0-9]+"), ("ip", "10.0.0.0/8"), ("int", "42"),
    ]
    static let samples: [String: String] = [
        "str": "k1", "beg": "/api/x", "sub": "a-sub-b", "dir": "/x/static/y", "dom": "www.example.com",
        "end": "x/index.php", "reg": "/re12/x", "ip": "10.1.2.3", "int": "42",
    ]
    static let values: [(String, String)] = [("str", "found"), ("int", "7"), ("ip", "10.9.8.7")]
}

/// Parses and evaluates `expression` on `subject`: the text `%[...]` would show, nil when the sample is missing.
func evaluate(_ expression: String, _ subject: TestSubject = TestSubject()) throws -> String? {
    try SampleExpressionParser.parse(expression, environment: TestFiles.environment).evaluate(subject)?.stringValue
}

/// The message a failing parse throws.
func parseError(_ expression: String) -> String? {
    do {
        _ = try SampleExpressionParser.parse(expression, environment: TestFiles.environment)
        return nil
    } catch {
        return "\(error)"
    }
}
