/// One Server-Sent Event as it came over the wire.
public struct ServerSentEvent: Sendable, Equatable {
    public var id: String?
    public var event: String
    public var data: String

    public init(id: String?, event: String, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }
}

/// Turns chunks of an SSE body into events (the text/event-stream format: fields, blank-line separated).
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    private var id: String?
    private var event: String?
    private var data: [String] = []

    public init() {}

    /// Feeds bytes; answers the events they complete. Comment lines (keep-alives) are skipped.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        buffer.append(contentsOf: bytes)
        var events: [ServerSentEvent] = []
        var start = 0
        var index = 0
        while index < buffer.count {
            if buffer[index] == UInt8(ascii: "\n") {
                var line = buffer[start..<index]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if let event = handle(String(decoding: line, as: UTF8.self)) { events.append(event) }
                start = index + 1
            }
            index += 1
        }
        buffer.removeFirst(start)
        return events
    }

    private mutating func handle(_ line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer {
                event = nil
                data = []
            }
            guard !data.isEmpty || event != nil else { return nil }
            return ServerSentEvent(id: id, event: event ?? "message", data: data.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = ""
        }
        switch field {
        case "id": id = String(value)
        case "event": event = String(value)
        case "data": data.append(String(value))
        default: break
        }
        return nil
    }
}
