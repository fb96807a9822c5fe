import BatonConfig
import BatonCore
import BatonObservability
import BatonProxy
import Dispatch
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The `baton` command: HAProxy's command line over Baton's config pipeline and data plane.
/// The process stays synchronous until the event loops start, so that `-D` can fork safely.
@main
enum Baton {
    static func main() {
        // A log reader or client that goes away must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions.parse(arguments)
        } catch {
            printError("[ALERT]    (\(getpid())) : \(error.message)")
            printError(CommandLineOptions.usage)
            exit(1)
        }
        switch options.action {
        case .version:
            print(BatonVersion.short)
            exit(0)
        case .buildOptions:
            print(BatonVersion.buildOptions(threads: System.coreCount))
            exit(0)
        case .help:
            print(BatonVersion.short)
            print(CommandLineOptions.usage)
            exit(0)
        case .evaluateCondition(let expression):
            do {
                exit(try ConditionExpression.evaluate(expression, environment: Environment.current) ? 0 : 1)
            } catch {
                printError("[ALERT]    (\(getpid())) : failed to evaluate condition: \(error)")
                exit(2)
            }
        case .check, .run:
            break
        }

        let result = ConfigurationLoader(environment: Environment.current).load(paths: options.configPaths)
        let pid = getpid()
        for diagnostic in result.diagnostics where !(options.quiet && diagnostic.severity != .alert) {
            printError(diagnostic.rendered(pid: pid))
        }
        guard let configuration = result.configuration else {
            let files = options.configPaths.joined(separator: ", ")
            printError("[ALERT]    (\(pid)) : config : Error(s) found in configuration file : \(files)")
            printError("[ALERT]    (\(pid)) : config : Fatal errors found in configuration.")
            exit(1)
        }
        if options.action == .check {
            if !options.quiet { print("Configuration file is valid") }
            exit(0)
        }
        Runner(configuration: configuration, options: options).run()
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

enum Environment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
