// agentvm-node: the daemon (`start`) and the command-line client of a node's API.
// Everything lives in NodeAgent (NodeCLI); this file only hands over the arguments.
import Foundation
import NodeAgent

let code = await NodeCLI.run(Array(CommandLine.arguments.dropFirst()))
exit(code)
