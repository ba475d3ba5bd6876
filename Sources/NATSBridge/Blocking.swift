import Dispatch

/// A C handle that may cross threads. libnats handles are thread-safe; ownership (who destroys
/// the handle, and when) is kept by the Swift object that holds this.
struct CHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// Runs blocking libnats calls (JetStream API requests, fetch, flush) off Swift's cooperative
/// pool, whose few threads must never block. A private queue targets the overcommitting global
/// queue, so each blocked call gets its own thread.
enum Blocking {
    private static let queue = DispatchQueue(label: "agentvm.nats.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
