import Foundation

extension ChildProcess {
    /// Starts `argv` with the current environment plus `environment`, stdin from /dev/null, and
    /// stdout and stderr appended to `<logDirectory>/<name>.stdout` and `.stderr` (the directory must
    /// exist): the shape tests and benchmarks use for servers and command-line runs.
    public convenience init(_ argv: [String], environment: [String: String] = [:], logDirectory: URL,
                            name: String) throws(ChildProcessError) {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, given in given }
        try self.init(argv: argv, environment: env,
                      stdout: .file(logDirectory.appendingPathComponent("\(name).stdout")),
                      stderr: .file(logDirectory.appendingPathComponent("\(name).stderr")))
    }

    /// What the child wrote to its stdout file so far ("" when stdout is not a file).
    public func stdoutText() -> String { Self.read(stdoutFile) }

    /// What the child wrote to its stderr file so far ("" when stderr is not a file).
    public func stderrText() -> String { Self.read(stderrFile) }

    private static func read(_ url: URL?) -> String {
        guard let url, let data = FileManager.default.contents(atPath: url.path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
