import ClusterCore

/// Maps errors from the kernel, memory, broker, tools and checkpoints to the API's error codes
/// (docs/api.md, "Errors").
enum APIErrors {
    static func map(_ error: any Error) -> HTTPError {
        switch error {
        case let e as HTTPError: return e
        case let e as KernelError: return kernel(e)
        case let e as ContractViolation:
            return HTTPError(status: 422, code: "contract_violation", message: "\(e)")
        case let e as BrokerError: return broker(e)
        case let e as MemoryError: return memory(e)
        case let e as ToolError: return tool(e)
        case let e as CheckpointError:
            return HTTPError(status: 400, code: "invalid_checkpoint", message: "\(e)")
        case is CancellationError:
            return HTTPError(status: 503, code: "shutting_down", message: "the request was cancelled because the node is stopping")
        default:
            return HTTPError(status: 500, code: "internal", message: "\(error)")
        }
    }

    static func kernel(_ e: KernelError) -> HTTPError {
        let message = e.description
        switch e {
        case .agentNotFound: return HTTPError(status: 404, code: "agent_not_found", message: message, field: "agent")
        case .processNotFound: return HTTPError(status: 404, code: "process_not_found", message: message)
        case .agentExists, .processExists: return HTTPError(status: 409, code: "already_exists", message: message)
        case .invalidAgent, .handlerNotFound: return HTTPError(status: 400, code: "invalid_argument", message: message)
        case .processLimitReached: return HTTPError(status: 429, code: "max_processes", message: message)
        case .illegalTransition, .notRunning: return HTTPError(status: 409, code: "invalid_transition", message: message)
        case .concurrencyLimit: return HTTPError(status: 429, code: "rate_limited", message: message)
        case .tokenBudgetExceeded: return HTTPError(status: 429, code: "budget_exceeded", message: message)
        case .timedOut: return HTTPError(status: 504, code: "timed_out", message: message)
        case .terminated: return HTTPError(status: 409, code: "terminated", message: message)
        case .handlerFailed, .startFailed: return HTTPError(status: 500, code: "execution_failed", message: message)
        case .messageRejected(_, let reason):
            if reason.contains("full") { return HTTPError(status: 429, code: "rate_limited", message: message) }
            return HTTPError(status: 409, code: "invalid_transition", message: message)
        case .journal: return HTTPError(status: 500, code: "internal", message: message)
        case .shuttingDown: return HTTPError(status: 503, code: "shutting_down", message: message)
        }
    }

    static func broker(_ e: BrokerError) -> HTTPError {
        let message = e.description
        switch e {
        case .channelNotFound: return HTTPError(status: 404, code: "channel_not_found", message: message)
        case .channelExists: return HTTPError(status: 409, code: "already_exists", message: message, field: "name")
        case .schemaViolation: return HTTPError(status: 422, code: "schema_violation", message: message, field: "payload")
        case .mailboxFull: return HTTPError(status: 429, code: "rate_limited", message: message)
        case .invalidChannelName: return HTTPError(status: 400, code: "invalid_argument", message: message, field: "name")
        case .invalidChannelConfig: return HTTPError(status: 400, code: "invalid_argument", message: message)
        }
    }

    static func memory(_ e: MemoryError) -> HTTPError {
        let message = e.description
        switch e {
        case .reservedKey: return HTTPError(status: 400, code: "reserved_key", message: message, field: "key")
        case .notANumber: return HTTPError(status: 409, code: "not_a_number", message: message, field: "key")
        case .invalidKey: return HTTPError(status: 400, code: "invalid_argument", message: message, field: "key")
        case .closed: return HTTPError(status: 503, code: "shutting_down", message: message)
        case .invalidTTL: return HTTPError(status: 400, code: "invalid_argument", message: message, field: "ttlMs")
        case .namespaceClosed: return HTTPError(status: 403, code: "forbidden", message: message)
        case .notASet: return HTTPError(status: 409, code: "wrong_type", message: message, field: "key")
        case .notFinite: return HTTPError(status: 400, code: "invalid_argument", message: message, field: "by")
        default: return HTTPError(status: 500, code: "internal", message: message)
        }
    }

    static func tool(_ e: ToolError) -> HTTPError {
        let message = e.description
        switch e {
        case .rateLimited: return HTTPError(status: 429, code: "rate_limited", message: message)
        case .notAllowed, .permissionDenied, .sideEffectDenied:
            return HTTPError(status: 422, code: "permission_denied", message: message)
        case .notFound: return HTTPError(status: 404, code: "not_found", message: message)
        case .invalidArguments: return HTTPError(status: 400, code: "invalid_argument", message: message)
        default: return HTTPError(status: 500, code: "execution_failed", message: message)
        }
    }
}
