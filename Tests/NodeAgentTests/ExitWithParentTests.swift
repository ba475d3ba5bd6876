import AgentVMTestKit
import ChildProcess
import ClusterCore
import Foundation
import Testing

/// `start --exit-with-parent`: a node whose parent dies (SIGKILL, no chance to clean up) stops by
/// itself instead of running on as an orphan.
@Suite struct ExitWithParentTests {
    @Test func aNodeStopsWhenItsParentIsKilled() async throws {
        let dir = try TempDirectory(prefix: "orphan")
        let binary = try NodeBinary.path()
        let config = dir.file("agentvm.yml")
        try Data("name: orphan\n".utf8).write(to: config)
        let data = dir.url.appendingPathComponent("data")
        // The shell starts the node in the background, prints its pid and waits for it: killing
        // the shell leaves the node alone, re-parented.
        let script = "\"$0\" start --config \"$1\" --data \"$2\" --listen 127.0.0.1:0 --exit-with-parent & echo $!; wait"
        let parent = try ChildProcess(["/bin/sh", "-c", script, binary, config.path, data.path],
                                      logDirectory: dir.url, name: "parent")
        var nodePID: Int32 = 0
        let ready = await waitUntil(deadline: .seconds(60), poll: .milliseconds(50)) {
            guard let pid = Int32(parent.stdoutText().trimmingCharacters(in: .whitespacesAndNewlines)),
                  let raw = FileManager.default.contents(atPath: data.appendingPathComponent("node.json").path),
                  let json = try? JSONValue.parse(raw), json["pid"]?.intValue == Int(pid) else { return false }
            nodePID = pid
            return true
        }
        #expect(ready, "the node did not start: \(parent.stderrText())")
        guard ready else { parent.kill9(); return }
        defer { if Self.running(nodePID) { kill(nodePID, SIGKILL) } }

        parent.kill9()
        let stopped = await waitUntil(deadline: .seconds(30), poll: .milliseconds(50)) { !Self.running(nodePID) }
        #expect(stopped, "the orphaned node is still running")
        #expect(parent.stderrText().contains("the parent process exited"), "\(parent.stderrText())")
    }

    /// Running: the pid exists and is not a zombie waiting for its new parent to reap it.
    static func running(_ pid: Int32) -> Bool {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }
}
