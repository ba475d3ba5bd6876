/// The commented agentvm.yml that `agentvm-node init` writes: a working echo agent, nothing that
/// needs files beside it. It validates cleanly (tested).
public enum ConfigTemplate {
    public static let fileName = "agentvm.yml"

    public static let text = """
    # agentvm.yml: what this AgentVM node runs. Every field is documented in docs/config.md.
    #   agentvm-node validate            check this file (every error at once)
    #   agentvm-node start               run the node here (API on 127.0.0.1:7070)
    #   agentvm-node spawn greeter       start a process; 'agentvm-node ps' lists them

    name: my-agents

    memory:
      backend: sqlite          # memory | sqlite (durable when a write returns)
      # replicated: [team]     # clustered: namespaces shared by every node, besides 'shared'

    node:
      listen: 127.0.0.1:7070   # HTTP API; beyond loopback only if you set it here
      data: .agentvm           # state directory, relative to this file
      logLevel: info
      # token: ${AGENTVM_TOKEN}

    # Variables for ${VAR} substitution (the process environment wins over these).
    env:
      GREETING: hello

    agents:
      greeter:
        description: Answers every task with its input
        handler: echo           # echo | counter | exec
        replicas: 1             # processes spawned at start
        config:
          greeting: ${GREETING}

      # An agent as a program of your own, speaking JSON lines on stdin/stdout
      # (docs/exec-protocol.md). Commands run from this file's directory, never through a shell.
      # worker:
      #   handler: exec
      #   command: [python3, agents/echo.py]
      #   restart: {policy: on-failure, maxRestarts: 3}

    channels:
      updates:
        type: pubsub            # pubsub | direct | queue
        historyLimit: 100

    # Built-in tools to enable.
    tools: []

    # Join a cluster over NATS:
    # cluster:
    #   name: demo
    #   nats: [nats://127.0.0.1:4222]

    """
}
