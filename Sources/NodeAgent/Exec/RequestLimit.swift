import Dispatch
import Synchronization

/// The cap on one program's requests in flight, enforced by back-pressure: the stdout reader
/// thread takes a slot before it hands a request to the host, and blocks (so it stops reading the
/// program's stdout) while none is free. A slot is given back when the request's reply has been
/// written to the program's stdin, so a program that never reads its replies is held too.
///
/// Only the one reader thread ever waits, so one semaphore signal per wait is enough.
final class RequestLimit: Sendable {
    /// Most requests in flight at once.
    let cap: Int

    private struct State {
        var inFlight = 0
        var readerWaiting = false
        var open = false
        var pauses = 0
        var highWater = 0
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// A limit of `cap` (at least 1).
    init(cap: Int) { self.cap = max(1, cap) }

    /// Takes a slot, blocking the calling (reader) thread while all are taken; `onPause` runs
    /// before it blocks (and before `readerIsWaiting` turns true), once per pause.
    func acquire(onPause: () -> Void) {
        var announced = false
        while true {
            let taken = state.withLock { s -> Bool? in
                if s.open || s.inFlight < cap {
                    s.inFlight += 1
                    s.highWater = max(s.highWater, s.inFlight)
                    return true
                }
                guard announced else { return nil }
                s.readerWaiting = true
                s.pauses += 1
                return false
            }
            switch taken {
            case true?: return
            case nil:
                announced = true
                onPause()
            case false?:
                wake.wait()
                announced = false
            }
        }
    }

    /// Gives a slot back, waking the reader if it waits for one.
    func release() {
        let wakeReader = state.withLock { s -> Bool in
            s.inFlight -= 1
            defer { s.readerWaiting = false }
            return s.readerWaiting
        }
        if wakeReader { wake.signal() }
    }

    /// Stops limiting: the program has exited, so what is left in its pipe (bounded by the pipe's
    /// size) is read at once and its requests still run.
    func open() {
        let wakeReader = state.withLock { s -> Bool in
            s.open = true
            defer { s.readerWaiting = false }
            return s.readerWaiting
        }
        if wakeReader { wake.signal() }
    }

    /// Requests taken and not yet answered.
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Whether the reader is blocked waiting for a slot right now.
    var readerIsWaiting: Bool { state.withLock { $0.readerWaiting } }
    /// How many times the reader had to wait.
    var pauses: Int { state.withLock { $0.pauses } }
    /// The most requests that were in flight at once.
    var highWater: Int { state.withLock { $0.highWater } }
}
