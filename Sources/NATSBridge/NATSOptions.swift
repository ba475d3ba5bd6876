import CNATS
import Foundation

/// How to reach and stay connected to NATS. Everything here is passed through to `natsOptions_*`.
/// Defaults favour a cluster node: reconnect forever with capped exponential backoff and jitter,
/// send as soon as possible (request/reply latency ~245 µs instead of ~1 ms, measured on this
/// machine), and the libnats subscription pending limit (65,536 messages).
public struct NATSOptions: Sendable {
    /// Server URLs (`nats://host:port`, `tls://host:port`). libnats tries them in random order
    /// unless `noRandomize` is set, and learns more from the servers it connects to.
    public var servers: [String]
    /// Connection name shown by the server (`/connz`), e.g. the node id.
    public var name: String?
    /// How long one connection attempt may take.
    public var connectTimeout: Duration = .seconds(2)
    /// Keep the servers' order rather than shuffling them.
    public var noRandomize = false
    /// Write each publish to the socket at once instead of batching in the flusher thread.
    public var sendAsap = true
    /// Do not receive messages this connection published itself.
    public var noEcho = false
    /// Interval between client PINGs, and how many may go unanswered before the connection is
    /// considered stale. These bound how fast a silently dead server is noticed.
    public var pingInterval: Duration = .seconds(120)
    /// See `pingInterval`.
    public var maxPingsOut = 2
    /// When the first connect fails, keep trying in the background instead of failing `connect`.
    /// The state then starts as `disconnected` and becomes `connected` later.
    public var retryOnFailedConnect = false
    /// Reconnection policy.
    public var reconnect = Reconnect()
    /// Pending limits applied to each subscription unless the call gives its own.
    public var pendingLimits = PendingLimits()
    /// Deliver every subscription's messages from the library's shared delivery thread pool
    /// instead of one thread per subscription: subscriptions then cost no thread.
    public var sharedDelivery = true
    /// TLS, if the servers require it.
    public var tls: TLS?
    /// Credentials, if the servers require them.
    public var credentials: Credentials = .none

    /// Options for the given servers with every other setting at its default.
    public init(servers: [String] = ["nats://127.0.0.1:4222"], name: String? = nil) {
        self.servers = servers
        self.name = name
    }

    /// Reconnection: attempts, wait with exponential backoff up to `maxWait`, random jitter.
    public struct Reconnect: Sendable {
        /// Whether to reconnect at all.
        public var enabled = true
        /// Attempts before giving up and closing; a negative value means forever.
        public var maxAttempts = -1
        /// Wait before the first retry round (after every server was tried once).
        public var wait: Duration = .milliseconds(250)
        /// Cap for the doubling wait. Equal to `wait` means a constant wait.
        public var maxWait: Duration = .seconds(4)
        /// Random extra wait added to each delay (up to this much), so that a cluster's clients do
        /// not all reconnect at the same instant.
        public var jitter: Duration = .milliseconds(100)
        /// The same for TLS connections, whose handshakes are costlier.
        public var jitterTLS: Duration = .seconds(1)
        /// Bytes of publishes buffered while disconnected (libnats default 8 MiB); past it a
        /// publish fails with `TransportError.disconnected`.
        public var bufferSize = 8 * 1024 * 1024
        public init() {}
    }

    /// Per-subscription limits before messages are dropped (a slow consumer).
    public struct PendingLimits: Sendable {
        /// Messages held undelivered.
        public var messages = 65_536
        /// Bytes held undelivered.
        public var bytes = 64 * 1024 * 1024
        public init(messages: Int = 65_536, bytes: Int = 64 * 1024 * 1024) {
            self.messages = messages
            self.bytes = bytes
        }
    }

    /// TLS settings; files are PEM.
    public struct TLS: Sendable {
        /// CA certificates to trust.
        public var caFile: String?
        /// Client certificate chain, for mutual TLS.
        public var certificateFile: String?
        /// Client private key, for mutual TLS.
        public var keyFile: String?
        /// Hostname expected in the server certificate, if not the URL's host.
        public var expectedHostname: String?
        /// Accept any server certificate. Only for tests.
        public var skipVerification = false
        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                    expectedHostname: String? = nil, skipVerification: Bool = false) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.expectedHostname = expectedHostname
            self.skipVerification = skipVerification
        }
    }

    /// How the client authenticates.
    public enum Credentials: Sendable {
        case none
        /// Plain user and password.
        case userPassword(user: String, password: String)
        /// A shared token.
        case token(String)
        /// An NKey: the public key and a file holding the seed (signs the server's nonce).
        case nkey(publicKey: String, seedFile: String)
        /// A `.creds` file (user JWT and NKey seed), as written by `nsc`.
        case credsFile(String)
    }
}

extension Duration {
    /// Whole milliseconds, as libnats takes them.
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1_000 + atto / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, as JetStream configuration takes them.
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

extension NATSOptions {
    /// Builds a `natsOptions` handle. The caller owns it (destroy with `natsOptions_Destroy`);
    /// libnats copies every string, so none needs to outlive this call.
    func makeHandle(events: UnsafeMutableRawPointer) throws(NATSError) -> OpaquePointer {
        guard !servers.isEmpty else { throw .invalidArgument("servers: the list is empty") }
        var raw: OpaquePointer?
        try check(natsOptions_Create(&raw), "natsOptions_Create")
        guard let opts = raw else { throw .invalidArgument("natsOptions_Create returned nothing") }
        do {
            try configure(opts, events: events)
            return opts
        } catch {
            natsOptions_Destroy(opts)
            throw error
        }
    }

    private func configure(_ o: OpaquePointer, events: UnsafeMutableRawPointer) throws(NATSError) {
        var cServers = servers.map { strdup($0) }
        defer { for p in cServers { free(p) } }
        let setServers = cServers.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress.map { base in
                base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                    natsOptions_SetServers(o, $0, Int32(buf.count))
                }
            } ?? NATS_INVALID_ARG
        }
        try check(setServers, "natsOptions_SetServers \(servers)")
        if let name { try check(natsOptions_SetName(o, name), "natsOptions_SetName") }
        try check(natsOptions_SetTimeout(o, connectTimeout.milliseconds), "natsOptions_SetTimeout")
        try check(natsOptions_SetNoRandomize(o, noRandomize), "natsOptions_SetNoRandomize")
        try check(natsOptions_SetSendAsap(o, sendAsap), "natsOptions_SetSendAsap")
        try check(natsOptions_SetNoEcho(o, noEcho), "natsOptions_SetNoEcho")
        try check(natsOptions_SetPingInterval(o, pingInterval.milliseconds), "natsOptions_SetPingInterval")
        try check(natsOptions_SetMaxPingsOut(o, Int32(maxPingsOut)), "natsOptions_SetMaxPingsOut")
        try check(natsOptions_SetMaxPendingMsgs(o, Int32(pendingLimits.messages)), "natsOptions_SetMaxPendingMsgs")
        try check(natsOptions_UseGlobalMessageDelivery(o, sharedDelivery), "natsOptions_UseGlobalMessageDelivery")

        try check(natsOptions_SetAllowReconnect(o, reconnect.enabled), "natsOptions_SetAllowReconnect")
        try check(natsOptions_SetMaxReconnect(o, Int32(clamping: reconnect.maxAttempts)), "natsOptions_SetMaxReconnect")
        try check(natsOptions_SetReconnectWait(o, reconnect.wait.milliseconds), "natsOptions_SetReconnectWait")
        try check(natsOptions_SetReconnectJitter(o, reconnect.jitter.milliseconds, reconnect.jitterTLS.milliseconds),
                  "natsOptions_SetReconnectJitter")
        try check(natsOptions_SetReconnectBufSize(o, Int32(clamping: reconnect.bufferSize)), "natsOptions_SetReconnectBufSize")
        if reconnect.maxWait > reconnect.wait {
            // libnats only knows a constant wait plus jitter; backoff needs the custom delay handler.
            try check(natsOptions_SetCustomReconnectDelay(o, natsReconnectDelayCallback, events),
                      "natsOptions_SetCustomReconnectDelay")
        }

        try check(natsOptions_SetDisconnectedCB(o, natsDisconnectedCallback, events), "natsOptions_SetDisconnectedCB")
        try check(natsOptions_SetReconnectedCB(o, natsReconnectedCallback, events), "natsOptions_SetReconnectedCB")
        try check(natsOptions_SetClosedCB(o, natsClosedCallback, events), "natsOptions_SetClosedCB")
        try check(natsOptions_SetErrorHandler(o, natsAsyncErrorCallback, events), "natsOptions_SetErrorHandler")
        if retryOnFailedConnect {
            try check(natsOptions_SetRetryOnFailedConnect(o, true, natsConnectedCallback, events),
                      "natsOptions_SetRetryOnFailedConnect")
        }

        if let tls {
            try check(natsOptions_SetSecure(o, true), "natsOptions_SetSecure")
            if let ca = tls.caFile {
                try check(natsOptions_LoadCATrustedCertificates(o, ca), "natsOptions_LoadCATrustedCertificates \(ca)")
            }
            if let cert = tls.certificateFile, let key = tls.keyFile {
                try check(natsOptions_LoadCertificatesChain(o, cert, key), "natsOptions_LoadCertificatesChain \(cert)")
            } else if tls.certificateFile != nil || tls.keyFile != nil {
                throw .invalidArgument("tls: certificateFile and keyFile go together")
            }
            if let host = tls.expectedHostname {
                try check(natsOptions_SetExpectedHostname(o, host), "natsOptions_SetExpectedHostname")
            }
            try check(natsOptions_SkipServerVerification(o, tls.skipVerification), "natsOptions_SkipServerVerification")
        }

        switch credentials {
        case .none: break
        case .userPassword(let user, let password):
            try check(natsOptions_SetUserInfo(o, user, password), "natsOptions_SetUserInfo")
        case .token(let token):
            try check(natsOptions_SetToken(o, token), "natsOptions_SetToken")
        case .nkey(let publicKey, let seedFile):
            try check(natsOptions_SetNKeyFromSeed(o, publicKey, seedFile), "natsOptions_SetNKeyFromSeed \(seedFile)")
        case .credsFile(let file):
            try check(natsOptions_SetUserCredentialsFromFiles(o, file, nil), "natsOptions_SetUserCredentialsFromFiles \(file)")
        }
    }
}
