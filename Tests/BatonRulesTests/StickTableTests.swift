import BatonCore
import Testing
@testable import BatonRules

/// Stick tables, `track-sc*`, the `sc_*`/`src_*` fetches, `sc-inc-gpc*` and `auth`.
@Suite struct StickTableTests {
    static func table(_ store: [StickTableDefinition.Datum], type: StickTableDefinition.KeyType = .ip,
                      size: Int = 100) -> StickTable {
        StickTable(definition: StickTableDefinition(name: "fe", keyType: type, keyLength: 32, size: size,
                                                    expire: .seconds(60), stored: store))
    }

    static func value(_ expression: String, _ subject: TestSubject) throws -> SampleValue? {
        let environment = SampleExpressionParser.Environment(proxyName: "fe") { _ in nil }
        return try SampleExpressionParser.parse(expression, environment: environment).evaluate(subject)
    }

    static let everyCounter: [StickTableDefinition.Datum] = [
        .connCurrent, .connCount, .connRate(10_000), .sessCount, .sessRate(10_000), .httpRequestCount,
        .httpRequestRate(10_000), .httpErrorCount, .httpErrorRate(10_000), .gpc0, .gpc0Rate(10_000), .gpc1,
        .gpc1Rate(10_000), .bytesInCount, .bytesOutCount,
    ]

    /// The fetch names this suite evaluates, for FetchTests' coverage check.
    static var coveredFetches: Set<String> {
        var names: Set<String> = ["http_auth", "http_auth_group"]
        for counter in StickCounterName.allCases {
            names.insert("sc_\(counter.rawValue)")
            for slot in 0...2 { names.insert("sc\(slot)_\(counter.rawValue)") }
            if counter != .tracked { names.insert("src_\(counter.rawValue)") }
        }
        return names
    }

    @Test("http-request track-sc0 counts the request; the rate and counts read back through every spelling")
    func trackAndRead() throws {
        let subject = TestSubject()
        let stick = Self.table(Self.everyCounter)
        subject.stickTables["fe"] = stick
        let environment = SampleExpressionParser.Environment(proxyName: "fe") { _ in nil }
        var context = HTTPRuleParser.Context(acls: [:], environment: environment)
        let rule = try HTTPRuleParser.parse(.request, ["track-sc0", "src"], location: SourceLocation(file: "t", line: 1),
                                            context: &context)
        #expect(rule.action == .trackCounter(index: 0, key: try SampleExpressionParser.parse("src", environment: environment),
                                             table: "fe"))
        _ = [rule].run(on: .request, subject)
        #expect(try Self.value("sc_http_req_rate(0)", subject) == .int(1))
        #expect(try Self.value("sc0_http_req_cnt", subject) == .int(1))
        #expect(try Self.value("sc0_conn_cur", subject) == .int(1))
        #expect(try Self.value("src_http_req_rate", subject) == .int(1))
        #expect(try Self.value("src_http_req_rate(fe)", subject) == .int(1))
        #expect(try Self.value("sc0_tracked", subject) == .bool(true))
        #expect(try Self.value("sc1_tracked", subject) == .bool(false))
        #expect(try Self.value("sc1_http_req_rate", subject) == nil)
        // A slot already tracked is left alone: a second track-sc0 counts nothing more.
        _ = [rule].run(on: .request, subject)
        #expect(try Self.value("sc0_http_req_cnt", subject) == .int(1))
        // Every counter reads through sc_, scN_ and src_ without failing.
        for counter in StickCounterName.allCases where counter != .tracked {
            for spelling in ["sc_\(counter.rawValue)(0)", "sc0_\(counter.rawValue)", "src_\(counter.rawValue)"] {
                #expect(try Self.value(spelling, subject) != nil, "\(spelling)")
            }
        }
        subject.trackedCounters.releaseAll(byConnection: false)
        #expect(try Self.value("src_conn_cur", subject) == .int(0))
    }

    @Test("a counter the table does not store reads as nothing; an address never seen reads 0")
    func absentCounters() throws {
        let subject = TestSubject()
        subject.stickTables["fe"] = Self.table([.httpRequestRate(10_000)])
        #expect(try Self.value("src_http_req_rate", subject) == .int(0))
        #expect(try Self.value("src_conn_cur", subject) == .int(0))
        try StickTracking.track(slot: 1, key: SampleExpressionParser.parse("src", environment: .init { _ in nil }),
                                table: "fe", subject, byConnection: true)
        #expect(try Self.value("sc1_conn_cur", subject) == nil)
        #expect(try Self.value("sc1_http_req_rate", subject) == .int(0))
    }

    @Test("sc-inc-gpc0 and inc_gpc0 count; clr_gpc0 returns the old value and clears it")
    func generalPurposeCounters() throws {
        let subject = TestSubject()
        subject.stickTables["fe"] = Self.table([.gpc0, .gpc0Rate(10_000), .gpc1])
        let environment = SampleExpressionParser.Environment(proxyName: "fe") { _ in nil }
        var context = HTTPRuleParser.Context(acls: [:], environment: environment)
        let location = SourceLocation(file: "t", line: 1)
        let rules = [
            try HTTPRuleParser.parse(.request, ["track-sc2", "src"], location: location, context: &context),
            try HTTPRuleParser.parse(.request, ["sc-inc-gpc0(2)"], location: location, context: &context),
            try HTTPRuleParser.parse(.request, ["sc-inc-gpc1(2)"], location: location, context: &context),
        ]
        _ = rules.run(on: .request, subject)
        #expect(try Self.value("sc2_get_gpc0", subject) == .int(1))
        #expect(try Self.value("sc2_get_gpc1", subject) == .int(1))
        #expect(try Self.value("sc2_gpc0_rate", subject) == .int(1))
        #expect(try Self.value("src_inc_gpc0", subject) == .int(2))
        #expect(try Self.value("sc_clr_gpc0(2)", subject) == .int(2))
        #expect(try Self.value("sc2_get_gpc0", subject) == .int(0))
    }

    @Test("string keys are cut to the table's length; a full table drops the entry expiring first")
    func keysAndSize() throws {
        let stick = Self.table([.httpRequestCount], type: .string, size: 2)
        let definition = stick.definition
        #expect(StickKey.make(.string(String(repeating: "a", count: 40)), for: definition)
                == .string(String(repeating: "a", count: 32)))
        let first = stick.entry(for: .string("a"), now: 1000)
        _ = stick.entry(for: .string("b"), now: 2000)
        _ = stick.entry(for: .string("c"), now: 3000)
        #expect(stick.count == 2)
        #expect(stick.existingEntry(for: .string("a"), now: 3000) == nil)
        _ = first
    }

    @Test("rates slide over two periods, as HAProxy's freq_ctr")
    func slidingRate() {
        var counter = FrequencyCounter()
        counter.add(10, now: 0, period: 1000)
        #expect(counter.rate(now: 500, period: 1000) == 10)
        // Half way through the next period, half of the previous one still counts.
        #expect(counter.rate(now: 1500, period: 1000) == 5)
        #expect(counter.rate(now: 2500, period: 1000) == 0)
    }

    @Test("auth answers 401 with the realm; http_auth checks plain and crypt(3) passwords")
    func authentication() throws {
        var list = Userlist(name: "admins", users: ["alice": .plain("wonderland")])
        // "sesame", hashed with SHA-512 crypt.
        list.users["bob"] = .crypt("$6$saltsalt$g3uPFdehVnKoLXdidvSAg1zlVgYomPr0X/xgdXSBn2LuxZUOGgYW4IULZkguZ77fzYteIur49AGHmF9iek6Sf1")
        func subject(_ credentials: String?) -> TestSubject {
            var fields = [("Host", "example.test")]
            if let credentials { fields.append(("Authorization", "Basic " + Base64.encode(Array(credentials.utf8)))) }
            let subject = TestSubject("GET", "/", fields)
            subject.userlists["admins"] = list
            return subject
        }
        #expect(try Self.value("http_auth(admins)", subject(nil)) == .bool(false))
        #expect(try Self.value("http_auth(admins)", subject("alice:wonderland")) == .bool(true))
        #expect(try Self.value("http_auth(admins)", subject("alice:wrong")) == .bool(false))
        #expect(try Self.value("http_auth(admins)", subject("bob:sesame")) == .bool(true))
        #expect(try Self.value("http_auth(admins)", subject("bob:sesam")) == .bool(false))
        #expect(try Self.value("http_auth(nosuch)", subject("alice:wonderland")) == .bool(false))
        // http_auth_group: the user's name as a sample; in an ACL, the groups it belongs to.
        list.groups = ["admin": ["alice"], "ops": ["alice", "bob"]]
        #expect(try Self.value("http_auth_group(admins)", subject("alice:wonderland")) == .string("alice"))
        #expect(try Self.value("http_auth_group(admins)", subject("alice:bad")) == nil)
        func inGroup(_ credentials: String, _ groups: [String]) throws -> Bool {
            var warnings: [String] = []
            let term = try ACLParser.parseTerm((["http_auth_group(admins)"] + groups)[...],
                                               environment: TestFiles.environment, warnings: &warnings)
            return ACL(name: "g", terms: [term]).matches(subject(credentials))
        }
        #expect(try inGroup("alice:wonderland", ["admin"]))
        #expect(try inGroup("bob:sesame", ["admin", "ops"]))
        #expect(try !inGroup("bob:sesame", ["admin"]))
        #expect(try !inGroup("bob:wrong", ["ops"]))
        var context = HTTPRuleParser.Context(acls: [:], environment: TestFiles.environment)
        let location = SourceLocation(file: "t", line: 1)
        let auth = try HTTPRuleParser.parse(.request, ["auth", "realm", "Private"], location: location, context: &context)
        #expect([auth].run(on: .request, subject(nil)) == .authenticate(realm: "Private"))
        let unnamed = try HTTPRuleParser.parse(.request, ["auth"], location: location, context: &context)
        #expect([unnamed].run(on: .request, subject(nil)) == .authenticate(realm: "be"))
    }
}
