import ClusterCore
import Foundation

/// A config value the kernel refused, naming the field.
public struct ConfigMappingError: Error, Sendable, CustomStringConvertible {
    /// Dotted field path, e.g. `agents.writer.contract.input`.
    public var field: String
    /// What is wrong with it.
    public var message: String

    /// An error about `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

extension NodeConfig.Agent {
    /// The kernel's definition of this agent. Exec settings (`command`, `restart`) are not part of
    /// it: the exec handler reads them from the node's config.
    public func definition() throws(ConfigMappingError) -> AgentDefinition {
        var contract: AgentContract?
        if let c = self.contract {
            let input: JSONSchema?, output: JSONSchema?
            do { input = try c.input.map { try JSONSchema($0) } } catch {
                throw ConfigMappingError(field: "agents.\(name).contract.input", message: "\(error)")
            }
            do { output = try c.output.map { try JSONSchema($0) } } catch {
                throw ConfigMappingError(field: "agents.\(name).contract.output", message: "\(error)")
            }
            contract = AgentContract(input: input, output: output, maxLatency: c.maxLatency, maxCost: c.maxCost)
        }
        var effects = Set(permissions.sideEffects.compactMap { ClusterCore.SideEffect(rawValue: $0.rawValue) })
        if effects.isEmpty { effects = [.none] }
        return AgentDefinition(
            name: name, handler: handler, description: description, config: config, capabilities: capabilities,
            tools: tools.map { Set($0) },
            permission: ClusterCore.PermissionLevel(rawValue: permissions.level.rawValue) ?? .read,
            allowedSideEffects: effects, contract: contract, persistentMemory: persistentMemory,
            limits: AgentLimits(executionTimeout: limits.timeout, tokenBudget: limits.tokenBudget,
                                maxConcurrentExecutions: max(1, limits.maxConcurrent ?? 1)))
    }
}

extension NodeConfig.Channel {
    /// The broker's config of this channel.
    public func channelConfig() throws(ConfigMappingError) -> ChannelConfig {
        let schema: JSONSchema?
        do { schema = try self.schema.map { try JSONSchema($0) } } catch {
            throw ConfigMappingError(field: "channels.\(name).schema", message: "\(error)")
        }
        return ChannelConfig(name: name, type: ClusterCore.ChannelType(rawValue: type.rawValue) ?? .pubsub,
                             historyLimit: historyLimit, schema: schema, maxDeliveryAttempts: maxDeliveryAttempts)
    }
}
