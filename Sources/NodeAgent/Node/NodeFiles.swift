import ClusterCore
import Foundation

/// The small files a node keeps in its data directory besides its databases.
enum NodeFiles {
    /// `<data>/node.json`: how a CLI on this host finds the running node.
    static func statusPath(_ dataDir: String) -> String { (dataDir as NSString).appendingPathComponent("node.json") }
    /// `<data>/node-id`: the id a node chose on its first start.
    static func idPath(_ dataDir: String) -> String { (dataDir as NSString).appendingPathComponent("node-id") }

    /// Creates the data directory (and parents) if missing.
    static func ensureDirectory(_ dataDir: String) throws {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    }

    /// The configured id, else the one kept under `dataDir`, else a new one written there.
    static func nodeID(configured: String?, dataDir: String) throws -> String {
        if let configured, !configured.isEmpty { return configured }
        let path = idPath(dataDir)
        if let data = FileManager.default.contents(atPath: path),
           let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
           !text.isEmpty {
            return text
        }
        let id = "n" + KernelConfig.randomNodeID()
        try writeAtomically(Data((id + "\n").utf8), to: path)
        return id
    }

    /// Writes `node.json` = `{"pid", "api", "nodeId", "startedAt"}`.
    static func writeStatus(dataDir: String, api: String, nodeID: String, startedAt: Date) throws {
        let json: JSONValue = [
            "pid": .number(Double(ProcessInfo.processInfo.processIdentifier)),
            "api": .string(api), "nodeId": .string(nodeID),
            "startedAt": .string(KernelEvent.formatTimestamp(startedAt)),
        ]
        var data = json.encoded()
        data.append(0x0A)
        try writeAtomically(data, to: statusPath(dataDir))
    }

    static func removeStatus(dataDir: String) {
        try? FileManager.default.removeItem(atPath: statusPath(dataDir))
    }

    /// Write to a temporary file, then rename: a reader never sees half a file.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp])
        }
        if rename(tmp, path) != 0 {
            let e = errno
            try? FileManager.default.removeItem(atPath: tmp)
            throw POSIXError(POSIXErrorCode(rawValue: e) ?? .EIO)
        }
    }
}

/// `host:port` (IPv6 as `[::1]:7070`) split for the HTTP server.
struct ListenAddress: Sendable, Equatable {
    var host: String
    var port: UInt16

    static func parse(_ text: String) -> ListenAddress? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("["), let close = t.firstIndex(of: "]") {
            let host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { return nil }
            return ListenAddress(host: host, port: port)
        }
        guard let colon = t.lastIndex(of: ":") else { return nil }
        let host = String(t[..<colon])
        guard !host.isEmpty, !host.contains(":"), let port = UInt16(t[t.index(after: colon)...]) else { return nil }
        return ListenAddress(host: host, port: port)
    }

    /// The URL of the API on this address with the actual port.
    func url(port actual: UInt16) -> String {
        host.contains(":") ? "http://[\(host)]:\(actual)" : "http://\(host):\(actual)"
    }
}
