/// The OpenAPI 3.1 document of the whole HTTP API (`openapi.json` beside this file), served at
/// `GET /openapi.json`. Tests hold it to the router (every route documented, every operation routed), to
/// `Limits` (every bound the server enforces stated) and, through schemathesis against a live server, to
/// the answers themselves.
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = PackageResources.openapi_json
}
