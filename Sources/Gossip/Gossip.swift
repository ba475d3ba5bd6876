// Membership and failure detection: a pure `Membership` core driven by ticks and messages, and a
// thin shell that performs its directives over `Transport`. Filled by the gossip issue.
import Transport
