import CMicroHTTPD
import Foundation

// libmicrohttpd's C callbacks. They are free functions (a closure literal in main.swift would be
// inferred @MainActor); context arrives through the `cls` pointers as `Unmanaged` references.

/// The access handler: called once for the headers, once per body piece, and once at the end;
/// after a suspension, once more when the connection is resumed.
///
/// It never blocks the polling thread: a request the `immediate` handler cannot answer on the
/// spot suspends its connection and goes to a Task, which resumes the connection when its response
/// is ready (see `PendingRequest`).
func mhdAccess(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
               _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
               _ uploadData: UnsafePointer<CChar>?, _ uploadSize: UnsafeMutablePointer<Int>?,
               _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
    guard let cls, let connection, let uploadSize, let conCls else { return .NO }
    let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()
    guard let slot = conCls.pointee else {
        conCls.pointee = Unmanaged.passRetained(RequestContext()).toOpaque()
        core.requestStarted()
        return .YES
    }
    let context = Unmanaged<RequestContext>.fromOpaque(slot).takeUnretainedValue()
    if let pending = context.pending {
        // Resumed: the handler's Task (or stop()) left the response.
        context.pending = nil
        return queue(pending.takeResponse() ?? HTTPError.internalError().response, on: connection, core: core)
    }
    let size = uploadSize.pointee
    if size > 0 {
        if !context.tooLarge, let uploadData {
            if context.body.count + size > core.options.maxBodyBytes {
                // Keep reading and dropping the rest so the client can receive the 413.
                context.tooLarge = true
                context.body = Data()
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) {
                    context.body.append($0, count: size)
                }
            }
        }
        uploadSize.pointee = 0
        return .YES
    }
    let path = url.map { String(cString: $0) } ?? "/"
    let request = HTTPRequest(method: method.map { String(cString: $0) } ?? "GET", path: path,
                              query: collect(connection, .GET_ARGUMENT_KIND),
                              headers: collect(connection, .HEADER_KIND), body: context.body)
    context.body = Data()
    if !core.authorized(request) {
        return queue(HTTPError.unauthorized().response, on: connection, core: core)
    }
    if context.tooLarge {
        return queue(HTTPError.payloadTooLarge(limit: core.options.maxBodyBytes).response, on: connection, core: core)
    }
    if let immediate = core.immediate, let response = immediate(request) {
        return queue(response, on: connection, core: core)
    }
    let suspended = SuspendedConnection(pointer: connection)
    suspended.suspend()
    context.pending = core.dispatch(request, connection: suspended)
    return .YES
}

/// Releases the per-request context whatever way the request ended.
func mhdRequestCompleted(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                         _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                         _ code: MHD_RequestTerminationCode) {
    guard let conCls, let slot = conCls.pointee else { return }
    if let cls { Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().requestEnded() }
    Unmanaged<RequestContext>.fromOpaque(slot).release()
    conCls.pointee = nil
}

private final class ValueCollector {
    var values: [String: String] = [:]
}

private func collectValue(_ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                          _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<ValueCollector>.fromOpaque(cls).takeUnretainedValue()
    collector.values[String(cString: key)] = value.map { String(cString: $0) } ?? ""
    return .YES
}

private func collect(_ connection: OpaquePointer, _ kind: MHD_ValueKind) -> [String: String] {
    let collector = ValueCollector()
    let unmanaged = Unmanaged.passRetained(collector)
    defer { unmanaged.release() }
    _ = MHD_get_connection_values(connection, kind, collectValue, unmanaged.toOpaque())
    return collector.values
}

private func queue(_ response: HTTPResponse, on connection: OpaquePointer, core: ServerCore) -> MHD_Result {
    let mhdResponse: OpaquePointer?
    switch response.body {
    case .data(let data):
        mhdResponse = data.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress),
                                            .RESPMEM_MUST_COPY)
        }
    case .stream(let stream, let heartbeat):
        let pump = StreamPump(stream: stream, heartbeat: heartbeat, heartbeatInterval: core.options.streamHeartbeat)
        pump.attach(SuspendedConnection(pointer: connection))
        if !core.register(pump) { pump.cancel() }
        let box = Unmanaged.passRetained(StreamContext(pump: pump, core: core))
        mhdResponse = MHD_create_response_from_callback(UInt64.max, 4096, streamRead, box.toOpaque(), streamFree)
        if mhdResponse == nil {
            box.release()
            pump.cancel()
            core.unregister(pump)
        }
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers {
        _ = MHD_add_response_header(mhdResponse, name, value)
    }
    return MHD_queue_response(connection, UInt32(clamping: response.status), mhdResponse)
}

private final class StreamContext {
    let pump: StreamPump
    let core: ServerCore
    init(pump: StreamPump, core: ServerCore) {
        self.pump = pump
        self.core = core
    }
}

private func streamRead(_ cls: UnsafeMutableRawPointer?, _ pos: UInt64, _ buf: UnsafeMutablePointer<CChar>?,
                        _ max: Int) -> Int {
    guard let cls, let buf else { return -2 }
    let context = Unmanaged<StreamContext>.fromOpaque(cls).takeUnretainedValue()
    return context.pump.read(into: UnsafeMutableRawPointer(buf), max: max)
}

/// MHD is done with the stream (finished, client gone, or server stopping): cancel the producer.
private func streamFree(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    let unmanaged = Unmanaged<StreamContext>.fromOpaque(cls)
    let context = unmanaged.takeUnretainedValue()
    context.pump.cancel()
    context.core.unregister(context.pump)
    unmanaged.release()
}
