import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadCore
import OffloadProcessing

/// The `http` processing type (002): calls a slow endpoint with a long timeout and keeps its answer
/// (`{status, headers, body}`; a JSON body parsed, any other as text). Only hosts on the worker's allow-list
/// (`--http-allow HOST`, repeatable) are called; any other fails the job at once. A 5xx answer fails the
/// attempt (kept as its result) and is retried; any other status completes the job.
public struct HTTPCallProcessor: Processor {
    public let processingType = "http"
    /// Lower-cased host names (or `host:port`); empty: this instance only validates job data.
    let allowedHosts: Set<String>
    let http: HTTPClient
    /// The largest answer body kept.
    static let maxBodyBytes = 10 * 1024 * 1024
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    public init(allowedHosts: [String], httpClient: HTTPClient = .shared) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
        self.http = httpClient
    }

    struct Call {
        var url: URL
        var method: String
        var headers: [String: String]
        var body: JSONValue?

        init(_ data: JSONValue) throws {
            guard data.objectValue != nil else {
                throw OffloadError.unprocessable("http data must be {\"url\", \"method\"?, \"headers\"?, \"body\"?}")
            }
            guard let text = data["url"]?.stringValue, let url = URL(string: text),
                ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false
            else { throw OffloadError.unprocessable("data.url must be an http or https URL") }
            self.url = url
            method = (data["method"]?.stringValue ?? "GET").uppercased()
            guard HTTPCallProcessor.methods.contains(method) else {
                throw OffloadError.unprocessable("data.method must be one of \(HTTPCallProcessor.methods.sorted().joined(separator: ", "))")
            }
            headers = [:]
            if let given = data["headers"], !given.isNull {
                guard let object = given.objectValue else { throw OffloadError.unprocessable("data.headers must be an object of strings") }
                for (name, value) in object {
                    guard let text = value.stringValue, !name.isEmpty, !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                        !text.contains(where: { $0 == "\r" || $0 == "\n" })
                    else { throw OffloadError.unprocessable("data.headers.\(name) must be a single-line string") }
                    headers[name] = text
                }
            }
            body = data["body"].flatMap { $0.isNull ? nil : $0 }
        }

        /// `host` or `host:port` as the allow-list names it.
        var hostKeys: [String] {
            let host = url.host?.lowercased() ?? ""
            return url.port.map { [host, "\(host):\($0)"] } ?? [host]
        }
    }

    public func validate(_ data: JSONValue) throws {
        _ = try Call(data)
    }

    public func run(_ job: JobContext) async throws -> JSONValue {
        let call = try Call(job.data)
        guard call.hostKeys.contains(where: allowedHosts.contains) else {
            throw JobFailure("host \(call.url.host ?? "?") is not on this worker's --http-allow list", retry: .never)
        }
        var request = HTTPClientRequest(url: call.url.absoluteString)
        request.method = .init(rawValue: call.method)
        for (name, value) in call.headers { request.headers.add(name: name, value: value) }
        switch call.body {
        case nil: break
        case .string(let text)?:
            request.body = .bytes(ByteBuffer(string: text))
        case let json?:
            if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(bytes: json.jsonBytes()))
        }
        let response: HTTPClientResponse
        let buffer: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(Int64(job.job.timeoutSeconds ?? 300)))
            buffer = try await response.body.collect(upTo: Self.maxBodyBytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch is NIOTooManyBytesError {
            throw JobFailure("the answer of \(call.url.host ?? "?") is larger than \(Self.maxBodyBytes) bytes", retry: .never)
        } catch {
            throw JobFailure("calling \(call.url.host ?? "?") failed: \(error)")
        }
        var headers: [String: JSONValue] = [:]
        for header in response.headers {
            let name = header.name.lowercased()
            headers[name] = .string(headers[name]?.stringValue.map { "\($0), \(header.value)" } ?? header.value)
        }
        let text = String(buffer: buffer)
        let isJSON = response.headers.first(name: "Content-Type")?.lowercased().contains("json") == true
        let body: JSONValue = isJSON ? ((try? JSONValue.parse(text)) ?? .string(text)) : .string(text)
        let result: JSONValue = ["status": .int(Int64(response.status.code)), "headers": .object(headers), "body": body]
        if response.status.code >= 500 {
            throw JobFailure("\(call.url.host ?? "?") answered \(response.status.code)", result: result)
        }
        return result
    }
}
