// agentvm-bench: prints one figure a line as `NAME VALUE`. Run it in release:
//   swift run -c release agentvm-bench SUITE
// Suites: kernel, api, gossip, gossip-sim, crdt, all.
import Foundation

let suites = ["kernel", "api", "gossip", "gossip-sim", "crdt"]
let args = Array(CommandLine.arguments.dropFirst())
guard let suite = args.first, suite == "all" || suites.contains(suite) else {
    FileHandle.standardError.write(Data("usage: agentvm-bench \((suites + ["all"]).joined(separator: "|"))\n".utf8))
    exit(2)
}

#if DEBUG
FileHandle.standardError.write(Data("warning: a debug build; figures need `swift run -c release agentvm-bench`\n".utf8))
#endif

do {
    for s in suite == "all" ? suites : [suite] {
        print("# \(s)")
        switch s {
        case "kernel":
            await KernelBench.run()
            try await MemoryBench.run()
        case "api":
            try await APIBench.run()
        case "gossip":
            try await GossipBench.run()
        case "crdt":
            CRDTBench.run()
            try await ReplicationBench.run()
        case "gossip-sim":
            GossipSimBench.run()
        default:
            break
        }
    }
} catch {
    FileHandle.standardError.write(Data("agentvm-bench: \(error)\n".utf8))
    exit(1)
}
