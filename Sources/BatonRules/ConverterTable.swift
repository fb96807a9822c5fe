/// The converters Baton knows, by name, with their argument checks (configuration.txt 7.3.1).
enum ConverterTable {
    typealias Builder = @Sendable ([String], SampleExpressionParser.Environment) throws -> Converter

    private static func noArguments(_ name: String, _ converter: Converter) -> Builder {
        { args, _ in
            if !args.isEmpty && args != [""] {
                throw RuleError("converter '\(name)' : end of arguments expected at position 1")
            }
            return converter
        }
    }

    private static func integer(_ text: String, converter: String, position: Int) throws -> Int {
        guard let value = Int(text) else {
            throw RuleError("invalid arg \(position) in converter '\(converter)' : expects an integer ('\(text)').")
        }
        return value
    }

    private static func expect(_ args: [String], _ range: ClosedRange<Int>, _ name: String) throws {
        if args.count < range.lowerBound {
            throw RuleError("converter '\(name)' : missing arguments (got \(args.count)/\(range.lowerBound))")
        }
        if args.count > range.upperBound {
            throw RuleError("converter '\(name)' : end of arguments expected at position \(range.upperBound + 1)")
        }
    }

    private static func fieldLike(_ name: String, word: Bool) -> Builder {
        { args, _ in
            try expect(args, 2...3, name)
            let index = try integer(args[0], converter: name, position: 1)
            if index == 0 { throw RuleError("invalid arg 1 in converter '\(name)' : field number cannot be 0") }
            let delimiters = Array(args[1].utf8)
            if delimiters.isEmpty { throw RuleError("invalid arg 2 in converter '\(name)' : empty delimiters") }
            let count = args.count > 2 ? try integer(args[2], converter: name, position: 3) : 1
            return word ? .word(index: index, delimiters: delimiters, count: count)
                : .field(index: index, delimiters: delimiters, count: count)
        }
    }

    private static func arithmetic(_ op: Converter.ArithmeticOperator) -> Builder {
        { args, _ in
            try expect(args, 1...1, op.rawValue)
            if let value = Int64(args[0]) { return .arithmetic(op, .constant(value)) }
            if let variable = VariableName(args[0]) { return .arithmetic(op, .variable(variable)) }
            throw RuleError("invalid arg 1 in converter '\(op.rawValue)' : expects an integer or a variable name ('\(args[0])').")
        }
    }

    private static func hash(_ function: Converter.HashFunction) -> Builder {
        { args, _ in
            try expect(args, 0...1, function.rawValue)
            var avalanche = 0
            if let first = args.first { avalanche = try integer(first, converter: function.rawValue, position: 1) }
            return .hash(function, avalanche: avalanche != 0)
        }
    }

    private static func map(_ match: MapMatch, output: SampleType, name: String) -> Builder {
        { args, environment in
            try expect(args, 1...2, name)
            guard let contents = environment.readFile(args[0]) else {
                throw RuleError("invalid arg 1 in converter '\(name)' : failed to load map file '\(args[0])'.")
            }
            let file: MapFile
            do {
                file = try MapFile(path: args[0], contents: contents, match: match)
            } catch {
                throw RuleError("invalid arg 1 in converter '\(name)' : failed to load map file '\(args[0])' : \(error).")
            }
            // As in HAProxy, every value of an `_int` or `_ip` map must be one.
            for (line, entry) in zip(file.lines, file.entries) {
                let valid = output == .int ? Int64(entry.value) != nil : output == .ip ? IPAddress(entry.value) != nil : true
                if !valid {
                    throw RuleError("invalid args in converter '\(name)' : unable to parse '\(entry.value)' at line \(line) of file '\(args[0])'.")
                }
            }
            return .map(file, match: match, output: output, fallback: args.count > 1 ? args[1] : nil)
        }
    }

    static let definitions: [String: Builder] = {
        var table: [String: Builder] = [
            "lower": noArguments("lower", .lower), "upper": noArguments("upper", .upper),
            "field": fieldLike("field", word: false), "word": fieldLike("word", word: true),
            "base64": noArguments("base64", .base64), "b64dec": noArguments("b64dec", .base64Decode),
            "hex": noArguments("hex", .hex), "length": noArguments("length", .length),
            "neg": noArguments("neg", .negate),
            "add": arithmetic(.add), "sub": arithmetic(.sub), "mul": arithmetic(.mul), "div": arithmetic(.div),
            "mod": arithmetic(.mod), "and": arithmetic(.and), "or": arithmetic(.or), "xor": arithmetic(.xor),
            "sdbm": hash(.sdbm), "djb2": hash(.djb2), "crc32": hash(.crc32), "wt6": hash(.wt6),
        ]
        table["regsub"] = { args, _ in
            try expect(args, 2...3, "regsub")
            var global = false, ignoreCase = false
            for flag in (args.count > 2 ? args[2] : "") {
                switch flag {
                case "g": global = true
                case "i": ignoreCase = true
                default: throw RuleError("invalid arg 3 in converter 'regsub' : invalid regex flag '\(flag)', only 'i' and 'g' are supported")
                }
            }
            do {
                return .regsub(try Regex(args[0], ignoringCase: ignoreCase), replacement: args[1], global: global)
            } catch {
                throw RuleError("invalid arg 1 in converter 'regsub' : \(error)")
            }
        }
        table["bytes"] = { args, _ in
            try expect(args, 1...2, "bytes")
            let offset = try integer(args[0], converter: "bytes", position: 1)
            let length = args.count > 1 ? try integer(args[1], converter: "bytes", position: 2) : nil
            if offset < 0 || (length ?? 0) < 0 { throw RuleError("invalid args in converter 'bytes' : negative value") }
            return .bytes(offset: offset, length: length)
        }
        table["json"] = { args, _ in
            try expect(args, 0...1, "json")
            guard let mode = Converter.JSONInput(rawValue: args.first ?? "ascii") else {
                throw RuleError("invalid arg 1 in converter 'json' : Unexpected input code type. "
                                + "Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'")
            }
            return .json(mode)
        }
        table["url_dec"] = { args, _ in
            try expect(args, 0...1, "url_dec")
            var inForm = 0
            if let first = args.first { inForm = try integer(first, converter: "url_dec", position: 1) }
            return .urlDecode(inForm: inForm != 0)
        }
        table["concat"] = { args, _ in
            try expect(args, 0...3, "concat")
            var variable: VariableName?
            if args.count > 1, !args[1].isEmpty {
                guard let name = VariableName(args[1]) else {
                    throw RuleError("invalid arg 2 in converter 'concat' : invalid variable name '\(args[1])'")
                }
                variable = name
            }
            return .concat(prefix: args.first ?? "", variable: variable, suffix: args.count > 2 ? args[2] : "")
        }
        table["ipmask"] = { args, _ in
            try expect(args, 1...2, "ipmask")
            func prefix(_ text: String, max: Int, position: Int) throws -> Int {
                if let value = Int(text), value >= 0, value <= max { return value }
                if max == 32, let mask = IPAddress.parseIPv4(Substring(text)) {
                    let ones = (~mask).leadingZeroBitCount
                    if mask == 0 || UInt32.max << UInt32(32 - ones) == mask { return mask == 0 ? 0 : ones }
                }
                throw RuleError("invalid arg \(position) in converter 'ipmask' : invalid mask '\(text)'")
            }
            return .ipmask(v4: try prefix(args[0], max: 32, position: 1),
                           v6: args.count > 1 ? try prefix(args[1], max: 128, position: 2) : nil)
        }
        let matches: [(String, MapMatch)] = [("str", .str), ("beg", .beg), ("sub", .sub), ("dir", .dir),
                                             ("dom", .dom), ("end", .end), ("reg", .reg), ("ip", .ip), ("int", .int)]
        table["map"] = map(.str, output: .string, name: "map")
        for (suffix, match) in matches {
            table["map_\(suffix)"] = map(match, output: .string, name: "map_\(suffix)")
            table["map_\(suffix)_str"] = map(match, output: .string, name: "map_\(suffix)_str")
            table["map_\(suffix)_int"] = map(match, output: .int, name: "map_\(suffix)_int")
            table["map_\(suffix)_ip"] = map(match, output: .ip, name: "map_\(suffix)_ip")
        }
        return table
    }()
}
