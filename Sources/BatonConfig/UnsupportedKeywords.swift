/// HAProxy keywords and sections Baton knows of but does not implement yet, so that they are
/// refused with "not supported by Baton yet" rather than taken for typos. Not exhaustive: the
/// common ones, and whole families by prefix.
enum UnsupportedKeywords {
    /// Sections other than global, defaults, frontend, backend and listen.
    static let sections: Set<String> = [
        "acme", "cache", "crt-store", "dynamic-update", "fcgi-app", "http-errors", "log-forward", "log-profile",
        "mailers", "peers", "program", "resolvers", "ring", "traces",
    ]

    static let global: Set<String> = [
        "anonkey", "busy-polling", "ca-base", "cluster-secret", "cpu-map", "cpu-policy", "cpu-set", "crt-base",
        "debug.counters", "default-path", "description", "dns-accept-family", "expose-deprecated-directives",
        "expose-experimental-directives", "external-check", "fd-hard-limit", "gid", "grace", "h1-accept-payload-with-any-method",
        "h1-case-adjust", "h1-case-adjust-file", "h1-do-not-close-on-insecure-transfer-encoding",
        "h2-workaround-bogus-websocket-clients", "insecure-fork-wanted", "insecure-setuid-wanted",
        "issuers-chain-path", "key-base", "limited-quic", "localpeer", "master-worker", "max-spread-checks",
        "max-threads-per-group", "maxcompcpuusage", "maxcomprate", "maxconnrate", "maxpipes", "maxsessrate",
        "maxsslconn", "maxsslrate", "maxzlibmem", "mworker-max-reloads", "no-memory-trimming", "node", "noepoll",
        "noevports", "nogetaddrinfo", "nokqueue", "noktls", "nopoll", "noreuseport", "nosplice", "numa-cpu-mapping",
        "pp2-never-send-local", "prealloc-fd", "presetenv", "quiet", "resetenv", "server-state-base",
        "server-state-file", "set-dumpable", "set-var", "setenv", "stats", "stats-file",
        "strict-limits", "thread-group", "thread-groups", "uid", "unix-bind", "unsetenv",
        "warn-blocked-traffic-after", "zero-warning",
    ]

    /// Families of global keywords, by prefix (`tune.bufsize`, `ssl-default-bind-ciphers`...).
    static let globalPrefixes = ["tune.", "ssl-", "51degrees-", "wurfl-", "deviceatlas-", "httpclient.",
                                 "ocsp-update.", "profiling.", "harden.", "jwt.", "lua-"]

    /// First words of proxy keywords (configuration.txt section 4.1) Baton does not have.
    static let proxy: Set<String> = [
        "backlog", "be-unpublished", "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl",
        "compression", "crt", "declare", "description", "disabled", "dispatch",
        "email-alert", "enabled", "error-log-format", "errorfiles", "errorloc", "errorloc302", "errorloc303",
        "external-check", "filter", "filter-sequence", "force-be-switch", "force-persist", "guid",
        "hash-balance-factor", "hash-preserve-affinity", "hash-type", "http-after-response", "http-check",
        "http-error", "http-send-name-header", "id", "ignore-persist",
        "load-server-state-from-file", "log-format-sd", "log-steps", "log-tag",
        "max-keep-alive-queue", "max-session-srv-conns", "monitor", "persist", "quic-initial", "rate-limit",
        "retry-on", "server-state-file-name", "server-template", "source", "srvtcpka-cnt",
        "srvtcpka-idle", "srvtcpka-intvl", "stats", "stick", "tcp-check",
        "tcp-response", "use-fcgi-app", 
    ]

    /// Global keywords HAProxy 2.6 itself refuses, with its message.
    static let removedGlobal: [String: String] = [
        "nbproc": "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on "
            + "multi-processor machines if available.",
    ]

    static func isKnownGlobal(_ keyword: String) -> Bool {
        global.contains(keyword) || globalPrefixes.contains { keyword.hasPrefix($0) }
    }
}
