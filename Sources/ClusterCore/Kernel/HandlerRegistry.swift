import Synchronization

/// Binds handler names to code, so an agent definition read from a file can name what runs it.
///
/// A name maps to a factory called once per agent registration with the agent's definition, so one
/// handler (for example `exec`) can serve differently configured agents.
public final class HandlerRegistry: Sendable {
    /// Builds the handler for one agent definition.
    public typealias Factory = @Sendable (AgentDefinition) throws -> any AgentHandler

    private let factories = Mutex<[String: Factory]>([:])

    /// An empty registry; `withBuiltIns()` has `echo` and `counter`.
    public init() {}

    /// A registry holding the built-in handlers `echo` and `counter`.
    public static func withBuiltIns() -> HandlerRegistry {
        let r = HandlerRegistry()
        r.register("echo") { _ in EchoHandler() }
        r.register("counter") { CounterHandler(definition: $0) }
        return r
    }

    /// Binds `name` to a factory, replacing any earlier binding.
    public func register(_ name: String, factory: @escaping Factory) {
        factories.withLock { $0[name] = factory }
    }

    /// Binds `name` to one handler instance shared by every agent naming it.
    public func register(_ name: String, handler: any AgentHandler) {
        register(name) { _ in handler }
    }

    public func unregister(_ name: String) {
        _ = factories.withLock { $0.removeValue(forKey: name) }
    }

    /// Registered handler names, sorted.
    public var names: [String] { factories.withLock { $0.keys.sorted() } }

    public func contains(_ name: String) -> Bool { factories.withLock { $0[name] != nil } }

    /// The handler for `definition`, built by the factory its `handler` names.
    public func makeHandler(for definition: AgentDefinition) throws(KernelError) -> any AgentHandler {
        guard let factory = factories.withLock({ $0[definition.handler] }) else {
            throw .handlerNotFound(handler: definition.handler, agent: definition.name)
        }
        do {
            return try factory(definition)
        } catch {
            throw .invalidAgent(agent: definition.name, reason: "handler \"\(definition.handler)\" refused it: \(error)")
        }
    }
}
