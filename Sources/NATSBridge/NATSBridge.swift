// libnats wrapped once: connections, pub/sub, request/reply, JetStream streams and KV; implements `Transport`.
// Filled by the NATSBridge issue; until then this target only states its purpose.
import Transport
