import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The process keywords of `global` end to end: `chroot`, `user`, `group`, `nbthread`,
/// `daemon` and `pidfile`, checked on the running process through /proc.
@Suite("Process keywords")
struct ProcessKeywordTests {
    static func config(port: UInt16, upstream: UInt16, global: String, proxy: String = "") -> String {
        """
        global
        \(global)
        \(httpDefaults())
        listen web
            bind 127.0.0.1:\(port)
        \(proxy)
            server app1 127.0.0.1:\(upstream)
        """
    }

    static func ended(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return true }
        return (readProcFile("/proc/\(pid)/status") ?? "").contains("State:\tZ")
    }

    static var nobody: (uid: uid_t, gid: gid_t)? {
        guard let entry = getpwnam("nobody") else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    static var nogroup: gid_t? { getgrnam("nogroup")?.pointee.gr_gid }

    // MARK: chroot, user, group

    @Test("chroot DIR with user nobody: Baton still serves, its root and cwd are DIR, it runs as nobody",
          .enabled(if: getuid() == 0, "needs root"))
    func chrootAndUser() async throws {
        let upstream = try await TestUpstream.named("jailed")
        let jail = try TemporaryDirectory()
        let nobody = try #require(Self.nobody)
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    chroot \(jail.url.path)\n    user nobody"),
            listening: [port])
        let result = try await curl("http://127.0.0.1:\(port)/inside")
        #expect(result.status == 200 && result.bodyText == "jailed", "\(result); stderr: \(baton.stderr)")
        #expect(upstream.requests.map(\.uri) == ["/inside"])
        let root = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(baton.pid)/root")
        #expect(root == jail.url.path, "/proc/\(baton.pid)/root -> \(root)")
        let cwd = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(baton.pid)/cwd")
        #expect(cwd == jail.url.path, "/proc/\(baton.pid)/cwd -> \(cwd)")
        let uids = procStatusFields(baton.pid, "Uid")
        #expect(uids.count == 4 && uids.allSatisfy { $0 == "\(nobody.uid)" }, "Uid: \(uids)")
        await baton.stop()
    }

    @Test("chroot DIR alone (still root): Baton serves and its root is DIR", .enabled(if: getuid() == 0, "needs root"))
    func chrootAlone() async throws {
        let upstream = try await TestUpstream.named("jailed")
        let jail = try TemporaryDirectory()
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    chroot \(jail.url.path)"),
            listening: [port])
        let response = try await rawGet(port: port, "/inside")
        #expect(response.status == 200 && response.bodyText == "jailed", "\(response)")
        let root = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(baton.pid)/root")
        #expect(root == jail.url.path, "/proc/\(baton.pid)/root -> \(root)")
        await baton.stop()
    }

    /// The time zone is read from outside the jail: HAProxy loads it before chroot, so that log
    /// dates stay in local time although /etc/localtime and /usr/share/zoneinfo are not in it.
    @Test("log dates keep the local time zone (TZ) after chroot", .enabled(if: getuid() == 0, "needs root"),
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Asia/Tokyo"), "no tzdata"),
          arguments: [false, true])
    func chrootKeepsTimeZone(chroot: Bool) async throws {
        let upstream = try await TestUpstream.named("tz")
        let jail = try TemporaryDirectory()
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log stdout format raw local0
            \(chroot ? "    chroot \(jail.url.path)" : "")
            \(httpDefaults())
                log global
                option httplog
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port], environment: ["TZ": "Asia/Tokyo"])
        let before = Date()
        #expect(try await rawGet(port: port, "/tz").status == 200)
        let line = try #require(await baton.waitForStdoutLines { $0.contains("/tz") }.first.flatMap(HTTPLogLine.init),
                                "stdout: \(baton.stdout)")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Tokyo")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss.SSS"
        let date = try #require(formatter.date(from: line.date), "date \(line.date)")
        #expect(abs(date.timeIntervalSince(before)) < 60,
                "logged \(line.date), now is \(formatter.string(from: before)) in Asia/Tokyo (chroot: \(chroot))")
        await baton.stop()
    }

    @Test("group NAME alone: Baton serves with that group (real, effective, saved, fs) and no supplementary groups",
          .enabled(if: getuid() == 0, "needs root"))
    func groupAlone() async throws {
        let upstream = try await TestUpstream.named("grouped")
        let gid = try #require(Self.nogroup)
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    group nogroup"), listening: [port])
        #expect(try await rawGet(port: port).bodyText == "grouped")
        let gids = procStatusFields(baton.pid, "Gid")
        #expect(gids.count == 4 && gids.allSatisfy { $0 == "\(gid)" }, "Gid: \(gids)")
        #expect(procStatusFields(baton.pid, "Groups").isEmpty, "Groups: \(procStatusFields(baton.pid, "Groups"))")
        let uids = procStatusFields(baton.pid, "Uid")
        #expect(uids.allSatisfy { $0 == "0" }, "Uid: \(uids) (only the group was asked to change)")
        await baton.stop()
    }

    @Test("user nobody + group nogroup: both uid and gid change", .enabled(if: getuid() == 0, "needs root"))
    func userAndGroup() async throws {
        let upstream = try await TestUpstream.named("dropped")
        let nobody = try #require(Self.nobody)
        let gid = try #require(Self.nogroup)
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    user nobody\n    group nogroup"),
            listening: [port])
        #expect(try await rawGet(port: port).bodyText == "dropped")
        let uids = procStatusFields(baton.pid, "Uid")
        let gids = procStatusFields(baton.pid, "Gid")
        #expect(uids.count == 4 && uids.allSatisfy { $0 == "\(nobody.uid)" }, "Uid: \(uids)")
        #expect(gids.count == 4 && gids.allSatisfy { $0 == "\(gid)" }, "Gid: \(gids)")
        #expect(procStatusFields(baton.pid, "Groups").isEmpty)
        await baton.stop()
    }

    @Test("user/group that do not exist: Baton refuses to start (exit 1) with an alert naming them",
          arguments: ["user no-such-user-baton", "group no-such-group-baton"])
    func unknownUserOrGroup(line: String) async throws {
        let directory = try TemporaryDirectory()
        let port = freePort()
        let config = try directory.writeConfig("u.cfg", Self.config(port: port, upstream: 9, global: "    \(line)"))
        let result = try await runCommand(BatonProcess.binaryPath, ["-db", "-f", config], timeout: .seconds(10))
        #expect(result.status == .exited(1), "stderr: \(result.stderr)")
        let name = String(line.split(separator: " ")[1])
        #expect(result.stderr.contains("[ALERT]") && result.stderr.contains(name), "stderr: \(result.stderr)")
        #expect(!isListening(port: port))
    }

    // MARK: nbthread

    @Test("nbthread N: exactly N event-loop threads (NIO-ELT-…), and concurrent traffic is served",
          arguments: [1, 2, 3])
    func threadCount(threads: Int) async throws {
        let upstream = try await TestUpstream.start(name: "threads") { _ in .delay(.milliseconds(100), .text("threads")) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    nbthread \(threads)"), listening: [port])
        // SwiftNIO names its event-loop threads "NIO-ELT-<group>-#<n>"; HAProxy (for comparison
        // runs) names every thread "haproxy" and has no other thread.
        let isEventLoop: (String) -> Bool = { $0.hasPrefix("NIO-ELT-") || $0 == "haproxy" }
        let names = threadNames(of: baton.pid)
        let eventLoops = names.filter(isEventLoop)
        #expect(eventLoops.count == threads, "threads of \(baton.pid): \(names)")
        // Eight requests at once, each on its own connection.
        let runs = try (0..<8).map { try startCurl("http://127.0.0.1:\(port)/t\($0)") }
        for run in runs {
            let result = await run.result()
            #expect(result.status == 200 && result.bodyText == "threads", "\(result)")
        }
        #expect(upstream.requestCount == 8)
        #expect(threadNames(of: baton.pid).filter(isEventLoop).count == threads,
                "event loops after traffic: \(threadNames(of: baton.pid))")
        await baton.stop()
    }

    // MARK: daemon, pidfile

    @Test("global daemon + pidfile (no -D): the command returns once the daemon serves; the pidfile names it")
    func globalDaemon() async throws {
        let upstream = try await TestUpstream.named("daemon")
        let port = freePort()
        let directory = try TemporaryDirectory()
        let pidFile = directory.path("baton.pid")
        let config = try directory.writeConfig("d.cfg", Self.config(port: port, upstream: upstream.port,
                                                                    global: "    daemon\n    pidfile \(pidFile)"))
        let result = try await runCommand(BatonProcess.binaryPath, ["-f", config], timeout: .seconds(10))
        let pidText = directory.read("baton.pid").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try #require(pid_t(pidText), "pidfile holds \(pidText.debugDescription); stderr: \(result.stderr)")
        defer { if !Self.ended(daemon) { kill(daemon, SIGKILL) } }
        #expect(result.status == .exited(0), "stderr: \(result.stderr)")
        #expect(daemon != result.pid, "the pidfile names the command, not a daemon")
        #expect(!Self.ended(daemon), "the daemon is gone")
        #expect(isListening(port: port), "the daemon is not listening when the command returns")
        // Detached: in a session of its own, no longer a child of the command.
        let stat = readProcFile("/proc/\(daemon)/stat") ?? ""
        let fields = stat.split(separator: ")").last.map { $0.split(separator: " ").map(String.init) } ?? []
        // After "comm)": state, ppid, pgrp, session.
        #expect(fields.count > 3 && fields[3] == "\(daemon)", "not a session leader: \(stat)")
        #expect(fields.count > 1 && fields[1] != "\(result.pid)", "stat: \(stat)")
        let response = try await curl("http://127.0.0.1:\(port)/")
        #expect(response.status == 200 && response.bodyText == "daemon", "\(response)")
        kill(daemon, SIGTERM)
        #expect(await eventually(timeout: .seconds(3)) { Self.ended(daemon) }, "the daemon ignored SIGTERM")
    }

    @Test("global daemon with -db: stays in the foreground (the started process itself serves)")
    func daemonOverriddenByDB() async throws {
        let upstream = try await TestUpstream.named("foreground")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    daemon"), listening: [port])
        #expect(baton.exitStatus == nil, "the process started with -db exited: \(baton.stderr)")
        #expect(try await rawGet(port: port).bodyText == "foreground")
        #expect(baton.exitStatus == nil)
        await baton.stop()
    }

    /// Baton writes the pidfile in every mode, as the README says; HAProxy 2.6 writes it only
    /// in daemon and master-worker modes, so this one fails by design with BATON_BINARY=haproxy.
    @Test("global pidfile in the foreground (-db): the file holds the serving process's id")
    func foregroundPidFile() async throws {
        let upstream = try await TestUpstream.named("pid")
        let port = freePort()
        let directory = try TemporaryDirectory()
        let pidFile = directory.path("fg.pid")
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, upstream: upstream.port, global: "    pidfile \(pidFile)"),
            listening: [port], directory: directory)
        #expect(await eventually { !directory.read("fg.pid").isEmpty }, "no pidfile at \(pidFile)")
        #expect(directory.read("fg.pid") == "\(baton.pid)\n")
        #expect(try await rawGet(port: port).bodyText == "pid")
        await baton.stop()
    }
}
