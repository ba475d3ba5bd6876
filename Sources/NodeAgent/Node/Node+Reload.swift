import ClusterCore
import Foundation

/// What a reload did.
public struct ReloadOutcome: Sendable {
    /// True when the new config is now in force (also when nothing changed).
    public var applied: Bool
    /// The differences found (empty when the new config could not be read).
    public var change: ConfigChange
    /// Why it was refused: breaking changes, config issues, or values the kernel refused.
    public var reasons: [String]
    /// Accepted changes that take effect only on the next start.
    public var deferred: [String]
}

extension Node {
    /// Re-reads the config (the `configSource` given to `init`, else `config.file`) and reloads it.
    /// Called on SIGHUP and when the file changes.
    @discardableResult
    public func reload() async -> ReloadOutcome {
        let file = config.file
        let loaded: NodeConfig
        do {
            if let configSource {
                loaded = try configSource()
            } else {
                guard !file.isEmpty else {
                    return ReloadOutcome(applied: true, change: ConfigChange(), reasons: [], deferred: [])
                }
                lastConfigBytes.withLock { $0 = FileManager.default.contents(atPath: file) }
                loaded = try NodeConfig.load(path: file, knownTools: NodeTools.names)
            }
        } catch {
            let reasons = (error as? ConfigErrors)?.issues.map(\.description) ?? ["\(error)"]
            reject(reasons, file: file)
            return ReloadOutcome(applied: false, change: ConfigChange(), reasons: reasons, deferred: [])
        }
        return await reload(to: loaded)
    }

    /// Applies `new` if every change is non-breaking: agents added or changed are registered
    /// (running processes keep their definition; new ones use the new one), channels added are
    /// created, tools enabled or disabled, and added replicas spawned. Otherwise nothing changes.
    /// Either way an event says what happened: `config.reloaded` or `config.rejected`.
    @discardableResult
    public func reload(to new: NodeConfig) async -> ReloadOutcome {
        await reloadLock.withLock { await applyReload(new) }
    }

    private func applyReload(_ new: NodeConfig) async -> ReloadOutcome {
        let old = config
        let change = NodeConfig.diff(old, new)
        if change.isEmpty { return ReloadOutcome(applied: true, change: change, reasons: [], deferred: []) }
        if change.isBreaking {
            let reasons = change.breaking.map(\.description)
            reject(reasons, file: new.file)
            return ReloadOutcome(applied: false, change: change, reasons: reasons, deferred: [])
        }
        // Map everything first, so a value the kernel refuses rejects the reload before any change.
        var definitions: [(AgentDefinition, Bool)] = []
        var channels: [ChannelConfig] = []
        do {
            for name in change.agentsAdded + change.agentsChanged {
                guard let agent = new.agent(named: name) else { continue }
                definitions.append((try agent.definition(), change.agentsChanged.contains(name)))
            }
            for name in change.channelsAdded {
                guard let channel = new.channel(named: name) else { continue }
                channels.append(try channel.channelConfig())
            }
        } catch {
            reject(["\(error)"], file: new.file)
            return ReloadOutcome(applied: false, change: change, reasons: ["\(error)"], deferred: [])
        }
        var deferred: [String] = []
        configHolder.value = new
        for (definition, changed) in definitions {
            do {
                if changed, kernel.agent(named: definition.name) == definition {
                    // Only exec settings (command, restart, env) changed: rebuild the handler.
                    kernel.unregister(definition.name)
                }
                try kernel.register(definition, replace: true)
            } catch {
                deferred.append("agents.\(definition.name): \(error)")
            }
        }
        for channel in channels {
            do { try kernel.broker.createChannel(channel) } catch { deferred.append("channels.\(channel.name): \(error)") }
        }
        for name in change.channelsChanged { deferred.append("channels.\(name): new settings apply on the next start") }
        if old.maxProcesses != new.maxProcesses { deferred.append("maxProcesses: applies on the next start") }
        if old.node.logLevel != new.node.logLevel { deferred.append("node.logLevel: applies on the next start") }
        enableTools(change.toolsAdded)
        for name in change.toolsRemoved { kernel.tools.unregister(name) }
        await spawnReplicas(new.agents.filter { change.agentsAdded.contains($0.name) || change.agentsChanged.contains($0.name) })
        let changes = change.nonBreaking.map(\.description)
        kernel.events.emit("config.reloaded", source: "node", data: [
            "file": .string(new.file), "changes": .array(changes.map(JSONValue.string)),
            "deferred": .array(deferred.map(JSONValue.string)),
            "agentsAdded": .array(change.agentsAdded.map(JSONValue.string)),
            "agentsChanged": .array(change.agentsChanged.map(JSONValue.string)),
            "channelsAdded": .array(change.channelsAdded.map(JSONValue.string)),
        ])
        logger.info("config reloaded", ["changes": .array(changes.map(JSONValue.string)),
                                        "deferred": .array(deferred.map(JSONValue.string))])
        return ReloadOutcome(applied: true, change: change, reasons: [], deferred: deferred)
    }

    private func reject(_ reasons: [String], file: String) {
        kernel.events.emit("config.rejected", source: "node", data: [
            "file": .string(file), "reasons": .array(reasons.map(JSONValue.string)),
        ])
        logger.warn("config reload refused", ["file": .string(file), "reasons": .array(reasons.map(JSONValue.string))])
    }

    /// Polls the config file's modification time every second and reloads when it changes to
    /// bytes no reload has read yet.
    func startWatching() {
        let file = config.file
        guard !file.isEmpty, FileManager.default.fileExists(atPath: file) else { return }
        lastConfigBytes.withLock { $0 = FileManager.default.contents(atPath: file) }
        let task = Task { [weak self] in
            var last = Self.modificationDate(file)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled else { return }
                let now = Self.modificationDate(file)
                guard now != last else { continue }
                last = now
                guard let self, self.isReady else { return }
                let bytes = FileManager.default.contents(atPath: file)
                if bytes != nil, bytes == self.lastConfigBytes.withLock({ $0 }) { continue }
                self.logger.info("config file changed; reloading", ["file": .string(file)])
                await self.reload()
            }
        }
        watcher.withLock { $0 = task }
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
