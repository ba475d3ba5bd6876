import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Splits a file descriptor's bytes into lines on a dedicated blocking thread.
enum LineReader {
    /// Reads until EOF. Lines longer than `maxLine` are dropped and reported through `onOverflow`.
    static func run(fd: Int32, maxLine: Int, onLine: (Data) -> Void, onOverflow: () -> Void) {
        var line = Data()
        var discarding = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == 0x0A {
                if !discarding { line.append(contentsOf: buffer[start..<i]) }
                if discarding {
                    discarding = false
                } else if line.count > maxLine {
                    onOverflow()
                } else {
                    onLine(line)
                }
                line.removeAll(keepingCapacity: true)
                start = i + 1
            }
            if start < n && !discarding {
                line.append(contentsOf: buffer[start..<n])
                if line.count > maxLine {
                    discarding = true
                    line.removeAll()
                    onOverflow()
                }
            }
        }
        if !line.isEmpty && !discarding { onLine(line) }
    }
}
