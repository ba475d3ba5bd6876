import Foundation

/// A unique directory under the system temp dir, removed by `remove()` or when released.
public final class TempDirectory: Sendable {
    /// The directory's path.
    public let url: URL
    /// The path as a string, for argv.
    public var path: String { url.path }

    /// Creates `<tmp>/agentvm-<prefix>-<random>`.
    public init(prefix: String = "test") throws {
        let name = "agentvm-\(prefix)-\(UUID().uuidString.prefix(8))"
        url = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Deletes the directory and everything in it. Idempotent.
    public func remove() { try? FileManager.default.removeItem(at: url) }

    deinit { remove() }
}
