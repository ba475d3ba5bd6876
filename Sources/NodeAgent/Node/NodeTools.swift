import ClusterCore
import Foundation

/// The built-in tools a config's `tools:` list may enable. Each is harmless (no file, network or
/// process access); the jailed fetch/shell/file tools come with the tools issue.
public enum NodeTools {
    /// Names of the built-in tools.
    public static var names: [String] { ["echo", "time", "uuid"] }

    /// The definition of built-in tool `name`, or nil when there is none.
    public static func definition(_ name: String) -> ToolDefinition? {
        switch name {
        case "echo":
            return ToolDefinition(name: "echo", description: "Returns its arguments unchanged.",
                                  permission: .none, sideEffects: [.none]) { args, _ in args }
        case "time":
            return ToolDefinition(name: "time", description: "The node's current time: ISO 8601 and Unix milliseconds.",
                                  permission: .none, sideEffects: [.readOnly]) { _, _ in
                let now = Date()
                return ["iso": .string(KernelEvent.formatTimestamp(now)),
                        "unixMs": .number((now.timeIntervalSince1970 * 1000).rounded())]
            }
        case "uuid":
            return ToolDefinition(name: "uuid", description: "A new random UUID.",
                                  permission: .none, sideEffects: [.none]) { _, _ in .string(UUID().uuidString.lowercased()) }
        default:
            return nil
        }
    }
}
