// The node executable: daemon and CLI. Filled by the node issue.
print("agentvm-node: not yet built")
