import ChildProcess
import ClusterCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One exec agent process: a subprocess speaking the JSON-lines protocol of docs/exec-protocol.md.
///
/// One instance runs the program once; a restart is a new instance (see `RestartPolicy`).
/// Stdout and stderr are read on dedicated threads; stdin writes go through a serial queue.
/// Requests from the program are capped (`ExecConfiguration.maxInFlightRequests`) by back-pressure:
/// at the cap the stdout reader stops reading until a reply has been written (see `RequestLimit`).
/// Starting one ignores SIGPIPE in the node (process-wide) so a write to a dead program fails
/// instead of killing the node; the program itself starts with default signal dispositions.
public final class ExecAgentProcess: Sendable {
    /// The agent process id the program serves.
    public let processID: String
    /// The agent's name.
    public let agent: String
    /// The agent's configuration, sent in `hello`.
    public let config: JSONValue
    /// How the program is run.
    public let configuration: ExecConfiguration

    private let host: any ExecHost
    private let state = Mutex<State>(State())
    private let writeQueue = DispatchQueue(label: "agentvm.exec.stdin")
    private let requests: RequestLimit

    private enum Phase { case idle, starting, running, stopping, exited }

    private struct State {
        var phase = Phase.idle
        var pid: Int32 = 0
        var child: ChildProcess?
        var capReported = false
        var pending: [String: CheckedContinuation<ExecResult, any Error>] = [:]
        var ready: CheckedContinuation<Void, any Error>?
        var readySeen = false
        var malformed = 0
        var stdoutClosed = false
        var shutdownRequested = false
        var exit: ExecExit?
    }

    /// Creates a stopped agent process; `host` answers its requests.
    public init(processID: String, agent: String, config: JSONValue = .object([:]),
                configuration: ExecConfiguration, host: any ExecHost) {
        self.processID = processID
        self.agent = agent
        self.config = config
        self.configuration = configuration
        self.host = host
        requests = RequestLimit(cap: configuration.maxInFlightRequests)
    }

    /// Lines from the program that broke the protocol so far.
    public var malformedLineCount: Int { state.withLock { $0.malformed } }

    /// The program's pid while it runs (0 before start).
    public var pid: Int32 { state.withLock { $0.pid } }

    /// How it ended, once it has.
    public var exitStatus: ExecExit? { state.withLock { $0.exit } }

    /// The program's requests taken and not yet answered (at most `configuration.maxInFlightRequests`
    /// while it runs).
    public var requestsInFlight: Int { requests.inFlight }

    /// The most requests that were in flight at once.
    public var requestsInFlightHighWater: Int { requests.highWater }

    /// How many times reading the program's stdout paused because its requests were at the cap.
    public var requestCapPauses: Int { requests.pauses }

    /// Whether reading the program's stdout is paused right now, its requests being at the cap.
    public var isPausedAtRequestCap: Bool { requests.readerIsWaiting }

    /// Launches the program, sends `hello` and waits for `ready`. On timeout the program is stopped.
    public func start() async throws {
        let allowed = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .starting
            return true
        }
        guard allowed else { throw ExecError.notRunning }
        signal(SIGPIPE, SIG_IGN)
        let child: ChildProcess
        do {
            let executable = try Self.resolve(configuration)
            // Its own process group, so that the SIGTERM and SIGKILL of `terminate()` reach what it started.
            child = try ChildProcess(
                executable: executable.path, argv: configuration.argv, environment: configuration.environment,
                workingDirectory: configuration.workingDirectory, stdin: .pipe, stdout: .pipe, stderr: .pipe,
                newProcessGroup: true, onExit: { [self] ended in processTerminated(ended) })
        } catch let error as ChildProcessError {
            state.withLock { $0.phase = .idle }
            throw ExecError.launchFailed(error.description)
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
        state.withLock {
            $0.pid = child.pid
            $0.child = child
        }
        let maxLine = configuration.maxLineBytes
        // Each reader holds `child`, which keeps its descriptor open until the reader is done.
        if let fd = child.stdoutFD {
            Thread.detachNewThread { [self] in
                LineReader.run(fd: fd, maxLine: maxLine, onLine: handleLine,
                               onOverflow: { malformed(ExecProtocolError.lineTooLong(maxLine).description) })
                withExtendedLifetime(child) {}
                state.withLock { $0.stdoutClosed = true }
            }
        }
        if let fd = child.stderrFD {
            Thread.detachNewThread { [self] in
                LineReader.run(fd: fd, maxLine: maxLine, onLine: { line in
                    host.log(ExecLogEntry(level: "info", message: String(decoding: line, as: UTF8.self), source: .stderr),
                             from: processID)
                }, onOverflow: {})
                withExtendedLifetime(child) {}
            }
        }
        send(["type": "hello", "version": 1, "process": .string(processID), "agent": .string(agent), "config": config])
        do {
            try await waitReady()
        } catch {
            if case ExecError.readyTimeout = error { await terminate() }
            throw error
        }
    }

    private func waitReady() async throws {
        let timeout = configuration.readyTimeout
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            if Task.isCancelled { return }
            let c = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                let c = s.ready
                s.ready = nil
                return c
            }
            c?.resume(throwing: ExecError.readyTimeout(timeout))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { s -> Result<Bool, ExecError> in
                if let exit = s.exit { return .failure(.processExited(exit)) }
                if s.readySeen { return .success(true) }
                s.ready = c
                return .success(false)
            }
            switch outcome {
            case .failure(let e): c.resume(throwing: e)
            case .success(true): c.resume()
            case .success(false): break
            }
        }
    }

    /// Sends a task and waits for its `result` (or `error`). Fails with `processExited` if the program dies.
    public func runTask(id: String, task: String, input: JSONValue) async throws -> ExecResult {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<ExecResult, any Error>) in
            let problem = state.withLock { s -> ExecError? in
                if let exit = s.exit { return .processExited(exit) }
                guard s.phase == .running else { return .notRunning }
                if s.pending[id] != nil { return .duplicateTaskID(id) }
                s.pending[id] = c
                return nil
            }
            if let problem {
                c.resume(throwing: problem)
                return
            }
            send(["type": "task", "id": .string(id), "task": .string(task), "input": input])
        }
    }

    /// Delivers a message (fire-and-forget).
    public func deliver(id: String, from: String, payload: JSONValue) throws {
        let running = state.withLock { $0.phase == .running }
        guard running else { throw ExecError.notRunning }
        send(["type": "message", "id": .string(id), "from": .string(from), "payload": payload])
    }

    /// Stops the program: `shutdown`, then SIGTERM after `shutdownGrace`, then SIGKILL after
    /// `terminateGrace`, signalling its whole process group. Returns how it ended (nil if never started).
    @discardableResult
    public func terminate() async -> ExecExit? {
        let (child, done) = state.withLock { s -> (ChildProcess?, ExecExit?) in
            if let exit = s.exit { return (nil, exit) }
            s.shutdownRequested = true
            if s.phase != .idle { s.phase = .stopping }
            return (s.child, nil)
        }
        if let done { return done }
        guard let child else { return nil }
        send(["type": "shutdown"])
        closeStdin()
        if let exit = await waitForExit(configuration.shutdownGrace) { return exit }
        // To the whole process group, so helpers it spawned go too; a no-op once it is reaped.
        child.signal(SIGTERM)
        if let exit = await waitForExit(configuration.terminateGrace) { return exit }
        child.signal(SIGKILL)
        return await waitForExit(.seconds(60))
    }

    /// Polls for the exit until `timeout`; nil when still running.
    public func waitForExit(_ timeout: Duration) async -> ExecExit? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit = exitStatus { return exit }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: - Output from the program

    private func handleLine(_ line: Data) {
        if line.isEmpty || line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
        let object: [String: JSONValue]
        do {
            guard let o = try JSONValue.parse(line).objectValue else {
                malformed(ExecProtocolError.notAnObject("not an object").description)
                return
            }
            object = o
        } catch {
            malformed(ExecProtocolError.notAnObject(String(describing: error)).description)
            return
        }
        guard let type = object["type"]?.stringValue else {
            malformed(ExecProtocolError.missingField("type", in: "message").description)
            return
        }
        switch type {
        case "ready": readyReceived()
        case "result":
            guard let id = Self.idString(object["id"]) else { return malformed(ExecProtocolError.missingField("id", in: "result").description) }
            guard let c = takePending(id) else { return malformed("result for unknown task id '\(id)'") }
            // Usage is summed into the kernel's Int counters and Double totals: a huge, negative or
            // fractional figure would overflow them (a trap) or poison the stats with infinity.
            if let problem = Self.usageProblem(object) {
                malformed("result for task '\(id)': \(problem)")
                c.resume(throwing: ExecError.taskFailed(id: id, message: "invalid result: \(problem)"))
                return
            }
            let result = ExecResult(output: object["output"] ?? .null, tokens: object["tokens"]?.intValue,
                                    cost: object["cost"]?.doubleValue)
            c.resume(returning: result)
        case "error":
            let message = object["message"]?.stringValue ?? "unspecified error"
            if let id = Self.idString(object["id"]), let c = takePending(id) {
                c.resume(throwing: ExecError.taskFailed(id: id, message: message))
            } else {
                host.log(ExecLogEntry(level: "error", message: message, source: .program), from: processID)
            }
        case "emit":
            guard let event = object["event"]?.stringValue, !event.isEmpty else {
                return malformed(ExecProtocolError.missingField("event", in: "emit").description)
            }
            host.emit(type: event, data: object["data"] ?? .null, from: processID)
        case "log":
            guard let message = object["message"]?.stringValue else {
                return malformed(ExecProtocolError.missingField("message", in: "log").description)
            }
            host.log(ExecLogEntry(level: object["level"]?.stringValue ?? "info", message: message, source: .program,
                                  fields: object["fields"] ?? .null), from: processID)
        case _ where ExecRequest.typeNames.contains(type):
            guard let id = object["id"], Self.idString(id) != nil else {
                return malformed(ExecProtocolError.missingField("id", in: type).description)
            }
            // Back-pressure: at the cap this blocks the stdout reader, so the program's writes
            // block once the pipe is full. Every request that gets a reply holds a slot until the
            // reply is written.
            requests.acquire(onPause: reportCapReached)
            let request: ExecRequest
            do {
                request = try ExecRequest.parse(type: type, object)
            } catch {
                malformed(error.description)
                send(["type": "reply", "id": id, "error": ["message": .string(error.description)]], then: requests.release)
                return
            }
            Task { [self] in
                do {
                    let value = try await host.handle(request, from: processID)
                    send(["type": "reply", "id": id, "result": value], then: requests.release)
                } catch {
                    send(["type": "reply", "id": id, "error": ["message": .string(String(describing: error))]],
                         then: requests.release)
                }
            }
        default:
            malformed(ExecProtocolError.unknownType(type).description)
        }
    }

    private static func idString(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .number?: return value?.jsonString
        default: return nil
        }
    }

    private func readyReceived() {
        let c = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            s.readySeen = true
            if s.phase == .starting { s.phase = .running }
            let c = s.ready
            s.ready = nil
            return c
        }
        c?.resume()
    }

    private func takePending(_ id: String) -> CheckedContinuation<ExecResult, any Error>? {
        state.withLock { $0.pending.removeValue(forKey: id) }
    }

    /// Largest `tokens` or `cost` one result may report; far above any real task, and small enough
    /// that summing millions of them cannot overflow.
    static let maxReportedUsage = 1 << 40

    /// Why a result's `tokens` or `cost` cannot be accepted, or nil when they can.
    static func usageProblem(_ object: [String: JSONValue]) -> String? {
        if let raw = object["tokens"], !raw.isNull {
            guard let t = raw.intValue, t >= 0, t <= maxReportedUsage else {
                return "field 'tokens' must be an integer from 0 to \(maxReportedUsage), got \(raw.jsonString)"
            }
        }
        if let raw = object["cost"], !raw.isNull {
            guard let d = raw.doubleValue, d >= 0, d <= Double(maxReportedUsage) else {
                return "field 'cost' must be a number from 0 to \(maxReportedUsage), got \(raw.jsonString)"
            }
        }
        return nil
    }

    /// Says once per run that the program reached its cap, so a slow program is explained in its log.
    private func reportCapReached() {
        let first = state.withLock { s -> Bool in
            defer { s.capReported = true }
            return !s.capReported
        }
        guard first else { return }
        host.log(ExecLogEntry(level: "warn", message: "program reached its cap of \(requests.cap) requests in flight; "
                              + "reading its output paused until replies are written (exec.maxInFlightRequests)",
                              source: .node), from: processID)
    }

    private func malformed(_ why: String) {
        state.withLock { $0.malformed += 1 }
        host.log(ExecLogEntry(level: "warn", message: "malformed output from program: \(why)", source: .node), from: processID)
    }

    // MARK: - Input to the program

    /// Writes `message` as one line on the write queue, then runs `then` (written or not).
    private func send(_ message: JSONValue, then: (@Sendable () -> Void)? = nil) {
        guard let child = state.withLock({ $0.child }) else {
            then?()
            return
        }
        var encoded = message.encoded()
        encoded.append(0x0A)
        let line = encoded
        writeQueue.async {
            // A failed write means the program is gone (or stdin was closed); its exit is reported
            // by the termination handler.
            child.writeStdin(line)
            then?()
        }
    }

    private func closeStdin() {
        guard let child = state.withLock({ $0.child }) else { return }
        writeQueue.async { child.closeStdin() }
    }

    // MARK: - Exit

    private func processTerminated(_ ended: ChildProcess.Termination) {
        let status: ExecExit.Status
        switch ended {
        case .exited(let code): status = .exited(code)
        case .signaled(let signal): status = .signaled(signal)
        }
        // Nothing reads replies any more: what is left in its stdout (bounded by the pipe) is read
        // at once, and the requests in it still run, as they would have had it lived.
        requests.open()
        // Let the stdout reader drain lines written just before the exit, briefly.
        Thread.detachNewThread { [self] in
            let deadline = Date().addingTimeInterval(2)
            while !state.withLock({ $0.stdoutClosed }) && Date() < deadline { usleep(2_000) }
            finish(status)
        }
    }

    private func finish(_ status: ExecExit.Status) {
        let (exit, pending, ready, child) = state.withLock { s -> (ExecExit, [CheckedContinuation<ExecResult, any Error>], CheckedContinuation<Void, any Error>?, ChildProcess?) in
            let exit = ExecExit(status: status, requested: s.shutdownRequested)
            s.exit = exit
            s.phase = .exited
            let pending = Array(s.pending.values)
            s.pending = [:]
            let ready = s.ready
            s.ready = nil
            // The exited program's pipes close once its readers are done with them, not when this
            // object goes (an exited process may stay listed for a long time).
            let child = s.child
            s.child = nil
            return (exit, pending, ready, child)
        }
        if let child { writeQueue.async { child.closeStdin() } }
        // Report first, so a caller whose task fails already finds the exit with the host.
        host.log(ExecLogEntry(level: exit.requested || exit.isSuccess ? "info" : "error",
                              message: "program \(exit)", source: .node), from: processID)
        host.exited(exit, process: processID)
        for c in pending { c.resume(throwing: ExecError.processExited(exit)) }
        ready?.resume(throwing: ExecError.processExited(exit))
    }

    // MARK: - Launch helpers

    static func resolve(_ configuration: ExecConfiguration) throws -> URL {
        guard let program = configuration.argv.first, !program.isEmpty else {
            throw ExecError.launchFailed("argv is empty")
        }
        if program.contains("/") {
            if program.hasPrefix("/") { return URL(fileURLWithPath: program) }
            let base = configuration.workingDirectory ?? FileManager.default.currentDirectoryPath
            return URL(fileURLWithPath: base).appendingPathComponent(program)
        }
        let path = (configuration.environment ?? ProcessInfo.processInfo.environment)["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return URL(fileURLWithPath: candidate) }
        }
        throw ExecError.launchFailed("\(program) not found in PATH")
    }
}
