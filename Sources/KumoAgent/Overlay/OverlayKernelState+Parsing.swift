import KumoModel

extension OverlayKernelState {
    /// Builds the state from the JSON that `ip -4 -j route show dev D`, `ip -4 -j neigh show dev D` and
    /// `bridge -j fdb show dev D` print (iproute2 6.1). Entries this layer never diffs — IPv6, `default`, odd
    /// types — are skipped rather than failing the read, so an unexpected entry can't stall the repair of the
    /// others; a document that is not a JSON array is an error.
    public static func parse(routes: String, neighbors: String, fdb: String) throws(KumoError) -> OverlayKernelState {
        OverlayKernelState(
            routes: try array(routes, what: "routes").compactMap(parseRoute),
            neighbors: try array(neighbors, what: "neighbours").compactMap(parseNeighbor),
            fdb: try array(fdb, what: "fdb entries").compactMap(parseFDB))
    }

    static func array(_ text: String, what: String) throws(KumoError) -> [JSONValue] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: trimmed)
        } catch {
            throw KumoError(.internal, "failed to parse overlay \(what): \(error.message)", cause: error)
        }
        guard let items = value.arrayValue else {
            throw KumoError(.internal, "failed to parse overlay \(what): expected a JSON array")
        }
        return items
    }

    static func parseRoute(_ v: JSONValue) -> Route? {
        // Only unicast routes (no "type" or "unicast"); blackhole/local/broadcast entries are not ours.
        if let type = v["type"]?.stringValue, type != "unicast" { return nil }
        guard let text = v["dst"]?.stringValue, let dst = network(text) else { return nil }
        let flags = v["flags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return Route(
            dst: dst, gateway: v["gateway"]?.stringValue.flatMap(IPv4Address.init), onlink: flags.contains("onlink"),
            metric: v["metric"]?.numberValue.flatMap { Int(exactly: $0) } ?? 0, kernelMade: v["protocol"]?.stringValue == "kernel")
    }

    /// `10.244.2.0/24`, or a bare address for a host route (`ip` omits `/32`).
    static func network(_ text: String) -> IPv4Network? {
        if text.contains("/") { return IPv4Network(text) }
        return IPv4Address(text).flatMap { IPv4Network(address: $0, prefixLength: 32) }
    }

    static func parseNeighbor(_ v: JSONValue) -> Neighbor? {
        guard let ip = v["dst"]?.stringValue.flatMap(IPv4Address.init) else { return nil }
        return Neighbor(
            ip: ip, mac: v["lladdr"]?.stringValue, states: v["state"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    static func parseFDB(_ v: JSONValue) -> FDBEntry? {
        guard let mac = v["mac"]?.stringValue else { return nil }
        // "dst" may also be an IPv6 remote; that is not one of ours, so it parses as "no IPv4 dst".
        return FDBEntry(
            mac: mac, dst: v["dst"]?.stringValue.flatMap(IPv4Address.init),
            permanent: v["state"]?.stringValue == "permanent", master: v["master"] != nil)
    }
}
