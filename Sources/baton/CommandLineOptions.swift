/// HAProxy's command line, as `haproxy` parses it (management.txt section 3).
struct CommandLineOptions {
    enum Action: Equatable {
        case run
        case check
        case evaluateCondition(String)
        case version
        case buildOptions
        case help
    }

    var action: Action = .run
    var configPaths: [String] = []
    var foreground = false
    var debug = false
    var daemon = false
    var quiet = false
    var pidFile: String?

    struct UsageError: Error {
        var message: String
    }

    /// Flags that belong to master-worker mode, which arrives with its own issue.
    static let masterWorkerFlags: Set<String> = ["-W", "-Ws", "-S", "-sf", "-st", "-x"]

    static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var index = 0
        func value(for flag: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else {
                throw UsageError(message: "option '\(flag)' expects an argument")
            }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-f": options.configPaths.append(try value(for: argument))
            case "-c": options.action = .check
            case "-cc": options.action = .evaluateCondition(try value(for: argument))
            case "-d": options.debug = true; options.foreground = true
            case "-db": options.foreground = true
            case "-D": options.daemon = true
            case "-p": options.pidFile = try value(for: argument)
            case "-q": options.quiet = true
            case "-v": options.action = .version
            case "-vv": options.action = .buildOptions
            case "-h", "--help": options.action = .help
            case "--":
                options.configPaths.append(contentsOf: arguments[(index + 1)...])
                index = arguments.count
                continue
            default:
                if masterWorkerFlags.contains(argument) {
                    throw UsageError(message: "option '\(argument)' (master-worker mode) is not supported by Baton yet; run without it")
                }
                throw UsageError(message: "unknown option '\(argument)'")
            }
            index += 1
        }
        if options.configPaths.isEmpty && (options.action == .run || options.action == .check) {
            throw UsageError(message: "No configuration file specified. Use '-f <file>'.")
        }
        return options
    }

    static let usage = """
        Usage : baton [-f <cfgfile|cfgdir>]* [ -vdD ] [ -c ] [ -cc <expr> ] [ -p <pidfile> ] [ -q ]
                [-- <cfgfile>*]
                -v displays version ; -vv shows known build options.
                -d enters debug mode ; -db only disables background mode.
                -D goes daemon ; -p writes pids of all children to this file
                -c check mode : only check config files and exit
                -cc check condition : evaluate a condition and exit
                -q quiet mode : don't display messages
                -- config files follow
        Master-worker flags (-W, -Ws, -S, -sf, -st, -x) are not supported yet.
        """
}
