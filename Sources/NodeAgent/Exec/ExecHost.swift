import ClusterCore

/// What the node provides to an exec agent: answers to its requests, and sinks for its events,
/// logs and exit. The node implements this over its kernel.
public protocol ExecHost: Sendable {
    /// Answers a request from process `process`. A thrown error becomes `{"type":"reply","error":…}`.
    func handle(_ request: ExecRequest, from process: String) async throws -> JSONValue
    /// A fire-and-forget event from the program (`{"type":"emit","event":…,"data":…}`).
    func emit(type: String, data: JSONValue, from process: String)
    /// A log line: the program's `log` messages, its stderr, and node notes about it.
    func log(_ entry: ExecLogEntry, from process: String)
    /// The program ended; called before its in-flight tasks fail. Apply `RestartPolicy.decide` here
    /// (start a new `ExecAgentProcess` to restart; do not block).
    func exited(_ exit: ExecExit, process: String)
}
