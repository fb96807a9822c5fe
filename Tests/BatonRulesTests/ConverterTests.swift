import Testing
@testable import BatonRules

/// Every converter of `ConverterTable.definitions`; the expected values are those haproxy 2.6 prints (the hashes,
/// field/word spans, json escapes, saturating arithmetic and url_param were checked side by side).
@Suite struct ConverterTests {
    static let table: [(String, String?)] = [
        ("str(MiXeD),lower", "mixed"), ("str(MiXeD),upper", "MIXED"), ("str(café),upper", "CAFé"),
        ("str(a.b..c.d),field(2,.)", "b"), ("str(a.b..c.d),field(-1,.)", "d"), ("str(a.b..c.d),field(3,.)", ""),
        ("str(a.b..c.d),field(2,.,2)", "b."), ("str(a.b..c.d),field(-2,.,2)", ".c"), ("str(a.b..c.d),field(2,.,0)", "b..c.d"),
        ("str(a.b..c.d),field(-2,.,0)", "a.b..c"), ("str(a.b..c.d),field(9,.)", nil), ("str(a.b/c),field(2,./)", "b"),
        ("str(a.b..c.d),word(2,.)", "b"), ("str(a.b..c.d),word(-1,.)", "d"), ("str(a.b..c.d),word(2,.,2)", "b..c"),
        ("str(a.b..c.d),word(-2,.,2)", "b..c"), ("str(a.b..c.d),word(3,.,0)", "c.d"), ("str(a.b..c.d),word(9,.)", ""),
        ("str(Hello),regsub(l,L)", "HeLlo"), ("str(Hello),regsub(l,L,g)", "HeLLo"), ("str(Hello),regsub(L,_,gi)", "He__o"),
        ("str(Hello World),regsub('^(H[a-z]+) (W[a-z]+)','\\2-\\1')", "World-Hello"), ("str(abc),regsub(x*,-,g)", "-a-b-c-"),
        ("str(hello),base64", "aGVsbG8="), ("str(a),base64", "YQ=="), ("int(1),base64", "AAAAAAAAAAE="),
        ("str(aGVsbG8=),b64dec", "hello"), ("str(abc),b64dec", nil), ("str(YQ==),b64dec", "a"),
        ("str(hi),hex", "6869"), ("int(255),hex", "00000000000000FF"), ("int(-1),hex", "FFFFFFFFFFFFFFFF"),
        ("src,hex", "C0000207"), ("str(),hex", ""),
        ("str(hello),bytes(1,2)", "el"), ("str(hello),bytes(3)", "lo"), ("str(hello),bytes(9)", ""), ("str(hello),bytes(0,0)", ""),
        ("str(hello),length", "5"), ("str(),length", "0"), ("str(café),length", "5"),
        ("str(a/b\\\\c),json", "a\\/b\\\\c"), ("str(café),json", "caf\\u00c3\\u00a9"), ("str(café €),json(utf8)", "caf\\u00e9 \\u20ac"),
        ("str(é),json(utf8s)", "\\u00e9"), ("str(é),json(utf8p)", "\\u00e9"), ("str(é),json(utf8ps)", "\\u00e9"),
        ("str(a%20b+c),url_dec", "a b+c"), ("str(a%20b+c),url_dec(1)", "a b c"), ("str(/p?a+b),url_dec", "/p?a b"),
        ("str(a%2),url_dec", nil),
        ("str(a),concat(-,txn.v,-)", "a-val-"), ("str(a),concat(<)", "a<"), ("str(a),concat(,txn.missing,>)", "a>"),
        ("int(5),neg", "-5"), ("int(-9223372036854775808),neg", "9223372036854775807"),
        ("int(9223372036854775807),add(1)", "9223372036854775807"), ("int(5),add(txn.n)", "47"), ("int(5),add(txn.missing)", nil),
        ("int(-9223372036854775808),sub(1)", "-9223372036854775808"), ("int(5),sub(txn.v)", "5"),
        ("int(4611686018427387904),mul(4)", "9223372036854775807"), ("int(-4611686018427387904),mul(4)", "-9223372036854775808"),
        ("int(7),div(2)", "3"), ("int(-7),div(2)", "-3"), ("int(7),div(0)", "9223372036854775807"),
        ("int(-7),div(0)", "9223372036854775807"), ("int(-9223372036854775808),div(-1)", "9223372036854775807"),
        ("int(7),mod(3)", "1"), ("int(-7),mod(3)", "-1"), ("int(7),mod(0)", "0"),
        ("int(6),and(3)", "2"), ("int(6),or(3)", "7"), ("int(6),xor(3)", "5"),
        ("str(42abc),add(1)", "43"), ("str(abc),add(1)", "1"), ("str(),add(1)", nil), ("str(99999999999999999999),add(0)", "9223372036854775807"),
        ("str(abc),sdbm", "807794786"), ("str(abc),sdbm(1)", "659243622"), ("str(abc),djb2", "193485963"),
        ("str(abc),djb2(1)", "2235766107"), ("str(abc),crc32", "891568578"), ("str(abc),crc32(1)", "930845320"),
        ("str(abc),wt6", "2483038440"), ("str(abc),wt6(1)", "266135527"),
        ("str(192.168.10.77),ipmask(24)", "192.168.10.0"), ("str(192.168.10.77),ipmask(255.255.0.0)", "192.168.0.0"),
        ("str(2001:db8:1:2::1),ipmask(24,64)", "2001:db8:1:2::"), ("str(2001:db8::1),ipmask(24)", nil),
        ("str(::ffff:10.1.2.3),ipmask(8)", "10.0.0.0"), ("str(nope),ipmask(8)", nil), ("src,ipmask(16)", "192.0.0.0"),
        ("str(k1),map(map.txt)", "v1"), ("str(k2),map(map.txt)", "two words"), ("str(zz),map(map.txt)", nil),
        ("str(zz),map(map.txt,dflt)", "dflt"),
    ]

    static func subject() -> TestSubject {
        let subject = TestSubject()
        subject.variables["txn.v"] = .string("val")
        subject.variables["txn.n"] = .int(42)
        return subject
    }

    @Test("each converter gives the value haproxy gives", arguments: table)
    func convert(_ expression: String, _ expected: String?) throws {
        #expect(try evaluate(expression, Self.subject()) == expected)
    }

    /// Every `map_<match>[_<output>]` finds its key with the sample its method matches, and gives the value in its
    /// output type.
    @Test("every map converter", arguments: MapFixture.keys.map(\.0))
    func maps(_ match: String) throws {
        let sample = try #require(MapFixture.samples[match])
        for (suffix, output) in [("", "str"), ("_str", "str"), ("_int", "int"), ("_ip", "ip")] {
            let value = MapFixture.values.first { $0.0 == output }!.1
            #expect(try evaluate("str(\(sample)),map_\(match)\(suffix)(\(match)-\(output).map)") == value, "map_\(match)\(suffix)")
            #expect(try evaluate("str(nomatch),map_\(match)\(suffix)(\(match)-\(output).map)") == nil)
        }
        #expect(try evaluate("str(nomatch),map_\(match)(\(match)-str.map,fallback)") == "fallback")
    }

    @Test("every converter of the table is covered here")
    func everyConverterIsCovered() {
        var tested = Set(Self.table.flatMap { $0.0.split(separator: ",").dropFirst().map { String($0.prefix { $0 != "(" }) } })
        tested.insert("map")
        for (match, _) in MapFixture.keys {
            for suffix in ["", "_str", "_int", "_ip"] { tested.insert("map_\(match)\(suffix)") }
        }
        let missing = Set(ConverterTable.definitions.keys).subtracting(tested)
        #expect(missing.isEmpty, "untested converters: \(missing.sorted())")
    }

    @Test("argument errors are haproxy's")
    func argumentErrors() {
        #expect(parseError("str(a),nosuch") == "unknown converter 'nosuch'")
        #expect(parseError("str(a),lower(x)") == "converter 'lower' : end of arguments expected at position 1")
        #expect(parseError("str(a),lower()") == nil)
        #expect(parseError("str(a),field(0,.)") == "invalid arg 1 in converter 'field' : field number cannot be 0")
        #expect(parseError("str(a),field(1)") == "converter 'field' : missing arguments (got 1/2)")
        #expect(parseError("str(a),word(x,.)") == "invalid arg 1 in converter 'word' : expects an integer ('x').")
        #expect(parseError("str(a),add(x)")?.hasPrefix("invalid arg 1 in converter 'add' : expects an integer or a variable name") == true)
        #expect(parseError("str(a),regsub(a,b,x)")?.contains("invalid regex flag 'x'") == true)
        #expect(parseError("str(a),regsub('(',b)")?.hasPrefix("invalid arg 1 in converter 'regsub' : regex '(' is invalid") == true)
        #expect(parseError("str(a),bytes(-1)") == "invalid args in converter 'bytes' : negative value")
        #expect(parseError("str(a),json(latin1)")?.hasPrefix("invalid arg 1 in converter 'json' : Unexpected input code type.") == true)
        #expect(parseError("str(a),ipmask(33)") == "invalid arg 1 in converter 'ipmask' : invalid mask '33'")
        #expect(parseError("str(a),ipmask(255.0.255.0)") == "invalid arg 1 in converter 'ipmask' : invalid mask '255.0.255.0'")
        #expect(parseError("str(a),concat(a,nope)") == "invalid arg 2 in converter 'concat' : invalid variable name 'nope'")
        #expect(parseError("str(a),map(missing.map)") == "invalid arg 1 in converter 'map' : failed to load map file 'missing.map'.")
        #expect(parseError("str(a),map_str_int(bad-int.map)")
                == "invalid args in converter 'map_str_int' : unable to parse 'v1' at line 1 of file 'bad-int.map'.")
        #expect(parseError("str(a),map_ip(map.txt)")?.hasPrefix("invalid arg 1 in converter 'map_ip' : failed to load map file") == true)
    }
}
