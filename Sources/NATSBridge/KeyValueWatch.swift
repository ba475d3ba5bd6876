import CNATS
import Foundation
import Synchronization

/// What a KV watch yields.
public enum KeyValueWatchEvent: Sendable, Equatable {
    /// A key's new revision (a put, delete or purge).
    case entry(KeyValueEntry)
    /// Every value present when the watch started has been delivered; later events are live.
    case initialValuesDone
}

/// The watcher handle shared by the watch thread and `stop()`: nil once the thread destroyed
/// it, so `stop()` never touches a destroyed watcher.
private final class WatcherSlot: Sendable {
    let handle: Mutex<CHandle?>
    init(_ h: CHandle) { handle = Mutex(h) }
}

/// A live watch on a KV bucket. Its events come from a dedicated thread blocked in
/// `kvWatcher_Next` (libnats's watch API is pull-only); `stop()` wakes it, and the thread
/// destroys the watcher when it leaves, so the handle is released exactly once.
public final class KeyValueWatch: Sendable {
    /// Entries as they happen; ends on `stop()` or when the connection closes.
    public let events: AsyncStream<KeyValueWatchEvent>
    private let slot: WatcherSlot

    init(bucket: KeyValueBucket, watcher: CHandle) {
        let slot = WatcherSlot(watcher)
        self.slot = slot
        let (stream, continuation) = AsyncStream<KeyValueWatchEvent>.makeStream()
        events = stream
        let thread = Thread {
            // Keeps the bucket (and so the kvStore the watcher points into) alive until the end.
            withExtendedLifetime(bucket) {
                while true {
                    var e: OpaquePointer?
                    let s = kvWatcher_Next(&e, watcher.raw, 3_600_000)
                    if s == NATS_TIMEOUT { continue }
                    guard s == NATS_OK else { break }
                    if let e {
                        continuation.yield(.entry(KeyValueEntry(e)))
                        kvEntry_Destroy(e)
                    } else {
                        continuation.yield(.initialValuesDone)
                    }
                }
                continuation.finish()
                slot.handle.withLock { h in
                    if let w = h { kvWatcher_Destroy(w.raw) }
                    h = nil
                }
            }
        }
        thread.name = "kv-watch-\(bucket.name)"
        thread.start()
    }

    /// Ends the watch. Idempotent.
    public func stop() {
        slot.handle.withLock { h in
            if let w = h { _ = kvWatcher_Stop(w.raw) }
        }
    }

    deinit { stop() }
}
