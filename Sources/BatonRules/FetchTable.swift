/// The sample fetches Baton knows, by name, with their arguments (configuration.txt 7.3.2 to
/// 7.3.6), and the ACL shortcuts (`hdr_beg`, `path_end`, ...) that imply a matching method.
enum FetchTable {
    struct Definition: Sendable {
        var minArguments: Int
        var maxArguments: Int
        /// The fetch and the implicit casts it needs.
        var build: @Sendable ([String]) throws -> (SampleFetch, [Converter])
    }

    static func checkCount(_ arguments: [String], _ definition: Definition, name: String) throws {
        if arguments.count < definition.minArguments {
            throw RuleError("fetch method '\(name)' : missing arguments (got \(arguments.count)/\(definition.minArguments))")
        }
        if arguments.count > definition.maxArguments {
            throw RuleError("fetch method '\(name)' : end of arguments expected at position \(definition.maxArguments + 1)")
        }
    }

    private static func simple(_ fetch: SampleFetch) -> Definition {
        Definition(minArguments: 0, maxArguments: 0) { _ in (fetch, []) }
    }

    private static func occurrence(_ arguments: [String], name: String) throws -> Int? {
        guard arguments.count > 1 else { return nil }
        guard let value = Int(arguments[1]) else {
            throw RuleError("invalid arg 2 in fetch method '\(name)' : expects an integer ('\(arguments[1])').")
        }
        return value
    }

    private static func header(_ side: MessageSide, full: Bool, cast: Converter?, name: String) -> Definition {
        Definition(minArguments: 0, maxArguments: 2) { args in
            let field = args.first.flatMap { $0.isEmpty ? nil : $0 }
            return (.header(side, name: field, occurrence: try occurrence(args, name: name), full: full),
                    cast.map { [$0] } ?? [])
        }
    }

    private static func headerCount(_ side: MessageSide, full: Bool) -> Definition {
        Definition(minArguments: 0, maxArguments: 1) { args in
            (.headerCount(side, name: args.first.flatMap { $0.isEmpty ? nil : $0 }, full: full), [])
        }
    }

    private static func cookie(_ side: MessageSide, cast: Converter?) -> Definition {
        Definition(minArguments: 0, maxArguments: 1) { args in
            (.cookie(side, name: args.first.flatMap { $0.isEmpty ? nil : $0 }), cast.map { [$0] } ?? [])
        }
    }

    private static func urlParameter(cast: Converter?) -> Definition {
        Definition(minArguments: 0, maxArguments: 2) { args in
            var delimiter = UInt8(ascii: "?")
            if args.count > 1 {
                guard let first = args[1].utf8.first, args[1].utf8.count == 1 else {
                    throw RuleError("invalid arg 2 in fetch method 'url_param' : expects a single delimiter character")
                }
                delimiter = first
            }
            return (.urlParameter(name: args.first.flatMap { $0.isEmpty ? nil : $0 }, delimiter: delimiter),
                    cast.map { [$0] } ?? [])
        }
    }

    private static func backendArgument(_ make: @escaping @Sendable (String?) -> SampleFetch) -> Definition {
        Definition(minArguments: 0, maxArguments: 1) { args in (make(args.first), []) }
    }

    static let definitions: [String: Definition] = {
        var table: [String: Definition] = [
            "src": simple(.source), "src_port": simple(.sourcePort),
            "dst": simple(.destination), "dst_port": simple(.destinationPort),
            "method": simple(.method), "path": simple(.path), "url": simple(.url), "query": simple(.query),
            "base": simple(.base), "req.ver": simple(.requestVersion), "req_ver": simple(.requestVersion),
            "url_param": urlParameter(cast: nil), "urlp": urlParameter(cast: nil),
            "urlp_val": urlParameter(cast: .castInteger),
            "req.hdr": header(.request, full: false, cast: nil, name: "req.hdr"),
            "hdr": header(.request, full: false, cast: nil, name: "hdr"),
            "req.fhdr": header(.request, full: true, cast: nil, name: "req.fhdr"),
            "req.hdr_val": header(.request, full: false, cast: .castInteger, name: "req.hdr_val"),
            "hdr_val": header(.request, full: false, cast: .castInteger, name: "hdr_val"),
            "req.hdr_ip": header(.request, full: false, cast: .castAddress, name: "req.hdr_ip"),
            "hdr_ip": header(.request, full: false, cast: .castAddress, name: "hdr_ip"),
            "req.hdr_cnt": headerCount(.request, full: false), "hdr_cnt": headerCount(.request, full: false),
            "req.fhdr_cnt": headerCount(.request, full: true),
            "res.hdr": header(.response, full: false, cast: nil, name: "res.hdr"),
            "shdr": header(.response, full: false, cast: nil, name: "shdr"),
            "res.fhdr": header(.response, full: true, cast: nil, name: "res.fhdr"),
            "res.hdr_val": header(.response, full: false, cast: .castInteger, name: "res.hdr_val"),
            "shdr_val": header(.response, full: false, cast: .castInteger, name: "shdr_val"),
            "res.hdr_ip": header(.response, full: false, cast: .castAddress, name: "res.hdr_ip"),
            "res.hdr_cnt": headerCount(.response, full: false), "shdr_cnt": headerCount(.response, full: false),
            "res.fhdr_cnt": headerCount(.response, full: true),
            "req.cook": cookie(.request, cast: nil), "cook": cookie(.request, cast: nil),
            "req.cook_val": cookie(.request, cast: .castInteger), "cook_val": cookie(.request, cast: .castInteger),
            "res.cook": cookie(.response, cast: nil), "scook": cookie(.response, cast: nil),
            "req.body": simple(.requestBody), "req.body_len": simple(.requestBodyLength),
            "req.body_size": simple(.requestBodyLength),
            "status": simple(.status), "res.ver": simple(.responseVersion), "resp_ver": simple(.responseVersion),
            "fe_name": simple(.frontendName), "be_name": simple(.backendName), "srv_name": simple(.serverName),
            "nbsrv": backendArgument { .usableServers(backend: $0) },
            "be_conn": backendArgument { .backendConnections(backend: $0) },
            "http_first_req": simple(.firstRequest), "ssl_fc": simple(.sslFrontend),
            "always_true": simple(.alwaysTrue), "always_false": simple(.alwaysFalse),
            "req.proto_http": simple(.protocolHTTP), "req_proto_http": simple(.protocolHTTP),
            "req.len": simple(.requestLength), "req_len": simple(.requestLength), "wait_end": simple(.waitEnd),
            "unique-id": simple(.uniqueID), "uuid": Definition(minArguments: 0, maxArguments: 1) { args in
                if let version = args.first, version != "4" {
                    throw RuleError("invalid arg 1 in fetch method 'uuid' : Unsupported UUID version: '\(version)'")
                }
                return (.uuid, [])
            },
        ]
        table["req.cook_cnt"] = Definition(minArguments: 0, maxArguments: 1) { args in
            (.cookieCount(.request, name: args.first.flatMap { $0.isEmpty ? nil : $0 }), [])
        }
        table["cook_cnt"] = table["req.cook_cnt"]
        table["var"] = Definition(minArguments: 1, maxArguments: 2) { args in
            guard let name = VariableName(args[0]) else {
                throw RuleError("invalid arg 1 in fetch method 'var' : invalid variable name '\(args[0])'. "
                                + "Expects a scope among 'proc', 'sess', 'txn', 'req', 'res' and a name")
            }
            return (.variable(name, fallback: args.count > 1 ? .string(args[1]) : nil), [])
        }
        table["env"] = Definition(minArguments: 1, maxArguments: 1) { args in (.environment(args[0]), []) }
        table["str"] = Definition(minArguments: 1, maxArguments: 1) { args in (.constant(.string(args[0])), []) }
        table["int"] = Definition(minArguments: 1, maxArguments: 1) { args in
            guard let value = Int64(args[0]) else {
                throw RuleError("invalid arg 1 in fetch method 'int' : expects an integer ('\(args[0])').")
            }
            return (.constant(.int(value)), [])
        }
        table["bool"] = Definition(minArguments: 1, maxArguments: 1) { args in
            // HAProxy's `smp_check_const_bool`: true/1 or false/0, case-insensitive.
            switch ASCIIText.lowercased(args[0]) {
            case "true", "1": return (.constant(.bool(true)), [])
            case "false", "0": return (.constant(.bool(false)), [])
            default:
                throw RuleError("invalid args in fetch method 'bool' : Expects 'true', 'false', '0' or '1'.")
            }
        }
        table["date"] = Definition(minArguments: 0, maxArguments: 2) { args in
            var offset: Int64 = 0
            var perUnit: Int64 = 1_000_000
            if let first = args.first, !first.isEmpty {
                guard let value = Int64(first) else {
                    throw RuleError("invalid arg 1 in fetch method 'date' : expects an integer ('\(first)').")
                }
                offset = value
            }
            if args.count > 1 {
                switch args[1] {
                case "s": perUnit = 1_000_000
                case "ms": perUnit = 1000
                case "us": perUnit = 1
                default: throw RuleError("invalid arg 2 in fetch method 'date' : unit '\(args[1])' is not one of 's', 'ms' or 'us'")
                }
            }
            return (.date(offset: offset, microsecondsPerUnit: perUnit), [])
        }
        table["rand"] = Definition(minArguments: 0, maxArguments: 1) { args in
            guard let first = args.first else { return (.random(range: nil), []) }
            guard let value = Int64(first), value > 0 else {
                throw RuleError("invalid arg 1 in fetch method 'rand' : expects a positive integer ('\(first)').")
            }
            return (.random(range: value), [])
        }
        table["http_auth"] = Definition(minArguments: 1, maxArguments: 1) { args in
            (.httpAuthentication(userlist: args[0]), [])
        }
        table["http_auth_group"] = Definition(minArguments: 1, maxArguments: 1) { args in
            (.httpAuthenticationGroup(userlist: args[0]), [])
        }
        addStickCounterFetches(to: &table)
        return table
    }()

    /// ACL keywords that are a fetch plus a matching method (`hdr_beg` is `hdr -m beg`).
    static let aclShortcuts: [String: (fetch: String, method: MatchMethod)] = {
        var table: [String: (String, MatchMethod)] = [:]
        let suffixes: [(String, MatchMethod)] = [("beg", .beg), ("end", .end), ("sub", .sub), ("reg", .reg),
                                                ("dir", .dir), ("dom", .dom), ("len", .len)]
        for base in ["hdr", "path", "url", "base", "cook", "urlp", "shdr", "scook"] {
            for (suffix, method) in suffixes { table["\(base)_\(suffix)"] = (base, method) }
        }
        table["url_param_reg"] = ("url_param", .reg)
        table["hdr_ip"] = ("hdr_ip", .ip)
        table["hdr_val"] = ("hdr_val", .int)
        return table
    }()
}
