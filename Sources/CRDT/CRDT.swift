// Replicated data types (counters, registers, sets, maps, version vectors) with delta mutators, and a
// pure `Replicator` core with a shell over `Transport`. Filled by the CRDT issue.
import Transport
