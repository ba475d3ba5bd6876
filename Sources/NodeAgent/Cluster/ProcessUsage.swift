import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// CPU and resident memory of this process, read from `/proc/self/stat` and `/proc/self/statm`
/// (Linux). CPU use is the change in user + system time between two samples divided by the wall
/// time between them, so the first sample reports 0.
final class ProcessUsage: Sendable {
    private struct Sample {
        var cpuSeconds: Double
        var at: ContinuousClock.Instant
    }

    private let previous = Mutex<Sample?>(nil)
    private let ticksPerSecond: Double
    private let pageSize: UInt64

    init() {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? Double(ticks) : 100
        let page = sysconf(Int32(_SC_PAGESIZE))
        pageSize = page > 0 ? UInt64(page) : 4096
    }

    /// CPU use in cores since the previous call, and resident memory in bytes. Zeros where
    /// `/proc` cannot be read (not Linux, or a restricted sandbox).
    func sample() -> (cpu: Double, memoryBytes: UInt64) {
        let now = ContinuousClock.now
        let cpuSeconds = Self.readCPUTicks().map { Double($0) / ticksPerSecond }
        var cpu = 0.0
        if let cpuSeconds {
            let last = previous.withLock { p -> Sample? in
                let old = p
                p = Sample(cpuSeconds: cpuSeconds, at: now)
                return old
            }
            if let last {
                let wall = Self.seconds(now - last.at)
                if wall > 0 { cpu = max(0, (cpuSeconds - last.cpuSeconds) / wall) }
            }
        }
        return (cpu, Self.readResidentPages().map { $0 * pageSize } ?? 0)
    }

    /// utime + stime (fields 14 and 15) in clock ticks. The command name (field 2) is in
    /// parentheses and may hold spaces, so fields are counted after its closing parenthesis.
    static func readCPUTicks(_ path: String = "/proc/self/stat") -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After ")" come field 3 (state) onwards, so field k is at index k - 3.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// The second field of statm: resident pages.
    static func readResidentPages(_ path: String = "/proc/self/statm") -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 1 else { return nil }
        return UInt64(fields[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
