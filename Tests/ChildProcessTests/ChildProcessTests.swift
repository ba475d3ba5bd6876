import ChildProcess
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real subprocesses (/bin/sh, /bin/sleep); every one is killed by pid in a defer.
@Suite struct ChildProcessTests {
    @Test func reportsTheExitCode() throws {
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "exit 7"])
        defer { child.kill9() }
        #expect(child.wait(deadline: .seconds(30)) == .exited(7))
        #expect(child.termination?.exitCode == 7)
        #expect(!child.isRunning)
    }

    @Test func reportsTheSignalThatEndedIt() async throws {
        let child = try ChildProcess(argv: ["/bin/sleep", "1000"])
        defer { child.kill9() }
        #expect(child.isRunning)
        #expect(child.signal(SIGTERM))
        #expect(await child.waitForExit(deadline: .seconds(30)) == .signaled(SIGTERM))
        #expect(child.termination?.exitCode == -SIGTERM)
        // Once reaped, the pid may belong to someone else: nothing is sent.
        #expect(!child.signal(SIGTERM))
    }

    @Test func capturesStdoutAndStderrThroughPipes() throws {
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "echo out; echo err >&2; read line; echo \"got $line\""],
                                     stdin: .pipe, stdout: .pipe, stderr: .pipe)
        defer { child.kill9() }
        #expect(child.writeStdin(Data("hello\n".utf8)))
        child.closeStdin()
        #expect(!child.writeStdin(Data("late\n".utf8)))
        let out = try #require(child.stdoutFD)
        let err = try #require(child.stderrFD)
        #expect(Self.readAll(out) == "out\ngot hello\n")
        #expect(Self.readAll(err) == "err\n")
        #expect(child.wait(deadline: .seconds(30)) == .exited(0))
    }

    @Test func writesLogFilesAndPassesTheEnvironment() throws {
        let dir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try ChildProcess(["/bin/sh", "-c", "echo \"x=$CHILD_X\"; pwd >&2"], environment: ["CHILD_X": "42"],
                                     logDirectory: dir, name: "sh")
        defer { child.kill9() }
        #expect(child.wait(deadline: .seconds(30)) == .exited(0))
        #expect(child.stdoutText() == "x=42\n")
        #expect(child.stdoutFile == dir.appendingPathComponent("sh.stdout"))
        #expect(child.stdoutFD == nil)

        let inDir = try ChildProcess(argv: ["/bin/sh", "-c", "pwd"], environment: [:], workingDirectory: dir.path,
                                     stdout: .file(dir.appendingPathComponent("pwd.out")))
        defer { inDir.kill9() }
        #expect(inDir.wait(deadline: .seconds(30)) == .exited(0))
        let pwd = try String(contentsOf: dir.appendingPathComponent("pwd.out"), encoding: .utf8)
        #expect(URL(fileURLWithPath: pwd.trimmingCharacters(in: .newlines)).resolvingSymlinksInPath().path
                == dir.resolvingSymlinksInPath().path)
    }

    @Test func startsWithNoSignalBlockedOrIgnored() throws {
        // This test runs on a Swift-concurrency thread, which blocks most signals; the child must not inherit that.
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "grep -E '^Sig(Blk|Ign):' /proc/self/status"], stdout: .pipe)
        defer { child.kill9() }
        let lines = Self.readAll(try #require(child.stdoutFD)).split(separator: "\n")
        #expect(lines.count == 2)
        // Signals 32 and 33 are glibc's own (cancellation, setxid): outside sigfillset, so no spawn
        // can reset them, and no program may use them.
        let glibcInternal: UInt64 = 0x1_8000_0000
        for line in lines {
            let mask = line.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) }
            #expect(mask.map { $0 & ~glibcInternal } == 0, "\(line)")
        }
        #expect(child.wait(deadline: .seconds(30)) == .exited(0))
    }

    @Test func stopEscalatesToSIGKILLForAProcessThatIgnoresSIGTERM() throws {
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
                                     stdout: .pipe, newProcessGroup: true)
        defer { child.kill9() }
        // Wait until the trap is set, so SIGTERM is really ignored and not just early.
        let fd = try #require(child.stdoutFD)
        var byte: UInt8 = 0
        #expect(read(fd, &byte, 1) == 1)
        #expect(child.stop(grace: .milliseconds(300)) == .signaled(SIGKILL))
        #expect(!child.isRunning)
    }

    @Test func groupSignalsReachGrandchildren() throws {
        let dir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidFile = dir.appendingPathComponent("grandchild.pid")
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "sleep 1000 & echo $! > \(pidFile.path); wait"],
                                     newProcessGroup: true)
        defer { child.kill9() }
        let grandchild = try #require(Self.poll { () -> pid_t? in
            guard let text = try? String(contentsOf: pidFile, encoding: .utf8), text.hasSuffix("\n") else { return nil }
            return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
        })
        defer { kill(grandchild, SIGKILL) }
        #expect(getpgid(grandchild) == child.pid)
        #expect(child.stop(grace: .seconds(30)) == .signaled(SIGTERM))
        // The sleep got the SIGTERM too: it is gone, or a zombie waiting for whoever adopted it.
        #expect(Self.poll { () -> Bool? in
            guard let state = Self.processState(grandchild) else { return true }
            return state == "Z" ? true : nil
        } == true)
    }

    @Test func launchFailuresAreClearErrors() {
        #expect(throws: ChildProcessError.emptyArgv) { try ChildProcess(argv: []) }
        #expect(throws: ChildProcessError.spawnFailed(executable: "/no/such/program", errno: ENOENT)) {
            try ChildProcess(argv: ["/no/such/program"])
        }
        #expect(throws: ChildProcessError.workingDirectoryMissing("/no/such/dir")) {
            try ChildProcess(argv: ["/bin/true"], workingDirectory: "/no/such/dir")
        }
        #expect(ChildProcessError.spawnFailed(executable: "/x", errno: ENOENT).description == "/x: No such file or directory")
    }

    @Test func noDescriptorLeaksIntoTheChild() throws {
        // A descriptor opened without O_CLOEXEC, as C libraries sometimes do.
        let opened = open("/dev/null", O_RDONLY)
        try #require(opened >= 0)
        let stray = fcntl(opened, F_DUPFD, Int32(200))
        close(opened)
        try #require(stray >= 200)
        defer { close(stray) }
        let child = try ChildProcess(argv: ["/bin/sh", "-c", "for f in /proc/$$/fd/*; do echo ${f##*/}; done"],
                                     stdin: .pipe, stdout: .pipe, stderr: .pipe)
        defer { child.kill9() }
        let fds = Self.readAll(try #require(child.stdoutFD)).split(separator: "\n").compactMap { Int32($0) }
        #expect(child.wait(deadline: .seconds(30)) == .exited(0))
        #expect(!fds.contains(stray))
        #expect(fds.allSatisfy { $0 <= 3 }, "\(fds)")  // 3: the shell's handle on the directory it lists
        #expect(Set(fds).isSuperset(of: [0, 1, 2]))
    }

    @Test func manySpawnsLeakNoDescriptorAndLeaveNoZombie() async throws {
        let before = Self.openDescriptors()
        var pids: [pid_t] = []
        for i in 0..<200 {
            let child = try ChildProcess(argv: ["/bin/sh", "-c", "exit \(i % 3)"],
                                         stdin: .pipe, stdout: .pipe, stderr: .pipe, newProcessGroup: i % 2 == 0)
            pids.append(child.pid)
            if i % 4 == 0 {
                // Released while possibly still running: killed, and reaped by its reaper thread.
                continue
            }
            #expect(child.wait(deadline: .seconds(30)) == .exited(Int32(i % 3)))
        }
        // Other suites in this process open descriptors too: a leak of 3 per spawn would be 600.
        #expect(Self.openDescriptors() <= before + 32, "before \(before), after \(Self.openDescriptors())")
        // No zombie of ours: each pid is gone, or (recycled) no longer our child.
        let me = getpid()
        let stillOurs = await Self.pollAsync { () -> [pid_t]? in
            let left = pids.filter { Self.parent(of: $0) == me }
            return left.isEmpty ? [] : nil
        }
        #expect(stillOurs == [], "children still unreaped")
    }

    @Test func releasingARunningChildKillsAndReapsIt() async throws {
        var pid: pid_t = 0
        do {
            let child = try ChildProcess(argv: ["/bin/sleep", "1000"])
            pid = child.pid
            #expect(Self.parent(of: pid) == getpid())
        }
        let me = getpid()
        let gone = await Self.pollAsync { Self.parent(of: pid) == me ? nil : true }
        #expect(gone == true)
    }

    // MARK: - Helpers

    static func readAll(_ fd: Int32) -> String {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

    /// The state letter of `pid` from /proc (R, S, Z, ...), nil when there is no such process.
    static func processState(_ pid: pid_t) -> String? {
        statFields(pid).map { $0[0] }
    }

    /// The parent pid of `pid`, nil when there is no such process.
    static func parent(of pid: pid_t) -> pid_t? {
        statFields(pid).flatMap { pid_t($0[1]) }
    }

    /// The fields of /proc/PID/stat after the command name: state, ppid, ...
    private static func statFields(_ pid: pid_t) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ").map(String.init)
        return fields.count >= 2 ? fields : nil
    }

    static func tempDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("childprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Polls until `value` is non-nil or 30 s have passed.
    static func poll<T>(_ value: () -> T?) -> T? {
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            if let v = value() { return v }
            usleep(5_000)
        }
        return value()
    }

    static func pollAsync<T>(_ value: () -> T?) async -> T? {
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            if let v = value() { return v }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return value()
    }
}
