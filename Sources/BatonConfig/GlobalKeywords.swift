import BatonCore

/// The keywords of the `global` section Baton implements (configuration.txt section 3).
enum GlobalKeywords {
    static let table: [GlobalKeyword] = [
        GlobalKeyword("maxconn", "maximum number of concurrent client connections of the process") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let value = Parse.integer(ctx.line.argument(0)), value > 0 else {
                ctx.alert("'maxconn' expects an integer argument.")
                return
            }
            global.maxConnections = value
        },
        GlobalKeyword("nbthread", "number of event-loop threads (default: one per CPU)") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            let text = ctx.line.argument(0) ?? ""
            guard let value = Parse.integer(text) else {
                ctx.alert("'nbthread' passed a missing or unparsable integer value in '\(text)'")
                return
            }
            guard (1...maxThreads).contains(value) else {
                ctx.alert("'nbthread' value must be between 1 and \(maxThreads) (was \(value))")
                return
            }
            global.threadCount = value
        },
        GlobalKeyword("log", negatable: true,
                      "syslog target: TARGET [len N] [format rfc3164|rfc5424|raw] FACILITY [LEVEL [MINLEVEL]]") { global, ctx in
            if ctx.line.negated {
                if ctx.line.argument(0) != nil {
                    ctx.alert("log : 'no log' does not expect arguments")
                } else {
                    global.logTargets.removeAll()
                }
                return
            }
            if ctx.line.argument(0) == "global", ctx.line.argument(1) == nil {
                ctx.alert("log : 'global' is not supported for a global syslog server")
                return
            }
            if let target = LogKeywords.parseTarget(&ctx, inGlobal: true) {
                global.logTargets.append(target)
            }
        },
        GlobalKeyword("log-send-hostname", "put this host name (default: the system's) in syslog headers") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            global.logSendHostname = .some(ctx.line.argument(0))
        },
        GlobalKeyword("log-tag", "syslog tag (default: the program name)") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let tag = ctx.line.argument(0) else {
                ctx.alert("'log-tag' expects a tag for use in syslog.")
                return
            }
            global.logTag = tag
        },
        GlobalKeyword("pidfile", "write the process id to this file") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let path = ctx.line.argument(0) else {
                ctx.alert("'pidfile' expects a file name as an argument.")
                return
            }
            global.pidFile = path
        },
        GlobalKeyword("daemon", "detach from the terminal and run in the background") { global, ctx in
            if ctx.tooManyArguments(max: 0) { return }
            global.daemon = true
        },
        GlobalKeyword("user", "switch to this user after binding") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let name = ctx.line.argument(0) else {
                ctx.alert("'user' expects a user name as an argument.")
                return
            }
            global.user = name
        },
        GlobalKeyword("group", "switch to this group after binding") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let name = ctx.line.argument(0) else {
                ctx.alert("'group' expects a group name as an argument.")
                return
            }
            global.group = name
        },
        GlobalKeyword("chroot", "change the root directory after binding") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let path = ctx.line.argument(0) else {
                ctx.alert("'chroot' expects a directory as an argument.")
                return
            }
            global.chroot = path
        },
        GlobalKeyword("tune.http.maxhdr",
                      "N header slots: at most N-1 fields in a request (else 400) or response (else 502); default 101") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let text = ctx.line.argument(0), !text.isEmpty else {
                ctx.alert("'tune.http.maxhdr' expects an integer argument.")
                return
            }
            guard let value = Parse.integer(text), (1...32767).contains(value) else {
                ctx.alert("'tune.http.maxhdr' expects a numeric value between 1 and 32767")
                return
            }
            global.httpMaxHeaders = value
        },
        GlobalKeyword("tune.bufsize", "buffer size: with tune.maxrewrite, bounds a message head (bufsize - maxrewrite)") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let value = Parse.integer(ctx.line.argument(0)), value > 0 else {
                ctx.alert("'tune.bufsize' expects a positive integer argument.")
                return
            }
            global.bufferSize = value
        },
        GlobalKeyword("tune.maxrewrite", "rewrite reserve (default 1024): the largest head is bufsize - maxrewrite") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let value = Parse.integer(ctx.line.argument(0)) else {
                ctx.alert("'tune.maxrewrite' expects an integer argument.")
                return
            }
            global.maxRewrite = value
        },
        GlobalKeyword("ulimit-n", "raise the file descriptor limit to N at start") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            if global.fileDescriptorLimit != nil {
                ctx.alert("'ulimit-n' already specified. Continuing.")
                return
            }
            guard let value = Parse.integer(ctx.line.argument(0)) else {
                ctx.alert("'ulimit-n' expects an integer argument.")
                return
            }
            global.fileDescriptorLimit = value
        },
        GlobalKeyword("hard-stop-after", "longest wait of a soft-stop for connections to finish") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let text = ctx.line.argument(0), !text.isEmpty else {
                ctx.alert("'hard-stop-after' expects <time> as argument.")
                return
            }
            guard let value = TimeValue.parse(text) else {
                ctx.alert("unexpected character '\(TimeoutKeywords.badCharacter(in: text))' in argument to <hard-stop-after>.")
                return
            }
            global.hardStopAfter = value
        },
        GlobalKeyword("spread-checks", "accepted; no effect until health checks exist") { global, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            if global.spreadChecks != nil {
                ctx.alert("spread-checks already specified. Continuing.")
                return
            }
            guard let value = Parse.integer(ctx.line.argument(0)), value <= 50 else {
                ctx.alert("'spread-checks' needs a positive value in range 0..50.")
                global.spreadChecks = 0
                return
            }
            global.spreadChecks = value
        },
    ]

    /// HAProxy's MAX_THREADS with its default thread groups.
    static let maxThreads = 1024

    static let index: [String: GlobalKeyword] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0) })
}
