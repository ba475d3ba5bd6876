print("agentvm-bench")
