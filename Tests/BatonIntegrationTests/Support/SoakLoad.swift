import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Drives the soak tests' connections: batch after batch, a few plain threads share out the
/// batch's connection numbers, each running one connection at a time to completion with its
/// own `SoakBuffer`. A batch ends when every thread has finished, so that Baton is between
/// connections when its memory is read and each batch's rate is its own.
///
/// A connection that throws is counted as a failure (the first few messages are kept). Once
/// `maximumFailures` have failed, or `deadline` has passed, no further connection starts: a
/// broken Baton ends the test quickly with a message rather than after 200,000 timeouts.
final class SoakLoad: @unchecked Sendable {
    struct Batch: Sendable {
        var index: Int
        var connections: Int
        var seconds: Double
        var residentBytes: Int
        /// Baton's user + system CPU time during the batch (to tell a slower Baton from a busier machine).
        var batonCPUSeconds: Double

        var rate: Double { Double(connections) / seconds }
    }

    let threads: Int
    let deadline: ContinuousClock.Instant
    let maximumFailures: Int
    private let lock = NSLock()
    private var next = 0
    private var end = 0
    private var _failures = 0
    private var _failureSamples: [String] = []
    private var _stopReason: String?

    init(threads: Int, deadline: ContinuousClock.Instant, maximumFailures: Int = 100) {
        self.threads = threads
        self.deadline = deadline
        self.maximumFailures = maximumFailures
    }

    var failures: Int { lock.withLock { _failures } }
    var failureSamples: [String] { lock.withLock { _failureSamples } }
    /// Why the run stopped early, if it did.
    var stopReason: String? { lock.withLock { _stopReason } }

    /// Runs connections 0..<`total` in batches of `batchSize` (blocking: call it from
    /// `onThread`); after each batch, reads Baton's resident size and CPU time, prints the
    /// batch's figures and hands them back. Stops early as described above.
    func run(total: Int, batchSize: Int, label: String, baton: BatonProcess,
             connection: @escaping @Sendable (Int, SoakBuffer) throws -> Void) -> [Batch] {
        var batches: [Batch] = []
        var cpuBefore = processCPUSeconds(baton.pid) ?? 0
        for start in stride(from: 0, to: total, by: batchSize) {
            let range = start..<min(start + batchSize, total)
            let seconds = runBatch(range, connection: connection)
            if stopReason != nil { break }
            let cpu = processCPUSeconds(baton.pid) ?? 0
            let batch = Batch(index: batches.count, connections: range.count, seconds: seconds,
                              residentBytes: baton.residentBytes() ?? 0, batonCPUSeconds: cpu - cpuBefore)
            cpuBefore = cpu
            batches.append(batch)
            print("soak \(label): " + String(format: "batch %2ld (connections %6ld..<%6ld): %5.2f s, %6.0f connections/s, "
                         + "Baton CPU %.0f µs/connection, RSS %.1f MiB, failures so far %ld",
                         batch.index, range.lowerBound, range.upperBound, seconds, batch.rate,
                         batch.batonCPUSeconds / Double(batch.connections) * 1e6,
                         Double(batch.residentBytes) / Double(MiB), failures))
            fflush(nil)  // every stream: the test log shows progress as it happens
        }
        return batches
    }

    /// Runs connections `range` on `threads` threads and waits for all of them; returns the
    /// seconds it took.
    private func runBatch(_ range: Range<Int>, connection: @escaping @Sendable (Int, SoakBuffer) throws -> Void) -> Double {
        lock.withLock {
            next = range.lowerBound
            end = range.upperBound
        }
        let started = ContinuousClock.now
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            let thread = Thread { [self] in
                defer { finished.signal() }
                let buffer = SoakBuffer()
                while let index = take() {
                    buffer.reset()
                    do {
                        try connection(index, buffer)
                    } catch {
                        recordFailure(index: index, error)
                    }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<threads { finished.wait() }
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The next connection number of the batch, or nil when it is done or the run must stop.
    private func take() -> Int? {
        lock.withLock {
            guard _stopReason == nil, next < end else { return nil }
            if _failures >= maximumFailures {
                _stopReason = "stopped after \(_failures) failed connections"
                return nil
            }
            if ContinuousClock.now >= deadline {
                _stopReason = "stopped at the deadline with connection \(next) not started"
                return nil
            }
            next += 1
            return next - 1
        }
    }

    private func recordFailure(index: Int, _ error: Error) {
        lock.withLock {
            _failures += 1
            if _failureSamples.count < 10 { _failureSamples.append("connection \(index): \(error)") }
        }
    }
}

/// User + system CPU time of process `pid` so far, from /proc/PID/stat, in seconds.
func processCPUSeconds(_ pid: pid_t) -> Double? {
    guard let text = readProcFile("/proc/\(pid)/stat"),
          let afterName = text.range(of: ")", options: .backwards) else { return nil }
    // After "pid (comm)": state is field 3, utime field 14, stime field 15.
    let fields = text[afterName.upperBound...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
