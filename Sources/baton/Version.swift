/// What `baton -v` and `-vv` report.
enum BatonVersion {
    static let version = "0.1.0"
    static let date = "2026/11/29"
    /// The SwiftNIO release line this build was made against (Package.swift's requirement).
    static let swiftNIO = "2.101"

    static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.0"
        #endif
    }

    static var short: String {
        "Baton version \(version) \(date) - HAProxy configuration compatible load balancer"
    }

    static func buildOptions(threads: Int) -> String {
        """
        \(short)
        Built with Swift \(swiftVersion), SwiftNIO \(swiftNIO).
        TLS library: none yet (TLS to clients and servers arrives with its own issue).
        Feature list : +EPOLL +THREAD +HTTP1 +TCP +SYSLOG -SSL -HTTP2 -QUIC -LUA -PROMEX
        Default settings :
          bufsize = 16384, maxrewrite = 1024
        Built with multi-threading support (default=\(threads)).
        Available multiplexer protocols :
                h1 : mode=HTTP  side=FE|BE
              none : mode=TCP   side=FE|BE
        Master-worker mode: not yet supported.
        """
    }
}
