import Foundation

/// Runs blocking work (socket reads that last seconds) on its own thread, so the few threads
/// that run the tests' async code are not held up.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Samples a process's resident memory every 10 ms on its own thread and keeps the peak.
final class ResidentMemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var _peak = 0
    private var _samples = 0
    private let finished = DispatchSemaphore(value: 0)

    init(_ sample: @escaping @Sendable () -> Int?) {
        let thread = Thread { [self] in
            defer { finished.signal() }
            while lock.withLock({ running }) {
                if let value = sample() {
                    lock.withLock {
                        _peak = max(_peak, value)
                        _samples += 1
                    }
                }
                usleep(10_000)
            }
        }
        thread.start()
    }

    /// Stops sampling (and waits for the sampling thread to end, so that it no longer holds
    /// what it samples); returns the peak and how many samples were taken.
    func stop() -> (peak: Int, samples: Int) {
        lock.withLock { running = false }
        _ = finished.wait(timeout: .now() + 1)
        return lock.withLock { (_peak, _samples) }
    }

    var peak: Int { lock.withLock { _peak } }
}

let MiB = 1 << 20
