extension NodeSpec {
    /// The fields other components act on: the server's proxy calls `agentURL`; peers and the overlay read
    /// `addresses`. A value nobody could use is refused here (422) rather than failing later as a 5xx.
    public static func validate(status: NodeStatus, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let url = status.agentURL, let why = agentURLReason(url) {
            errors.append(FieldError("\(path).agentURL", why))
        }
        let addresses = status.addresses ?? []
        if addresses.count > 16 {
            errors.append(FieldError("\(path).addresses", "must list at most 16 addresses, not \(addresses.count)"))
        }
        for (i, address) in addresses.prefix(16).enumerated() where !SpecValidation.isIPv4(address) {
            errors.append(FieldError("\(path).addresses[\(i)]", "must be an IPv4 address like 192.0.2.11"))
        }
        return errors
    }

    /// Why `url` cannot be an agent endpoint, or nil: `http://` or `https://`, a host (IPv4, `[IPv6]` or a DNS
    /// name), an optional port 1–65535, an optional path; no user info, query, fragment or blanks.
    public static func agentURLReason(_ url: String) -> String? {
        let example = "must be an agent endpoint like https://192.0.2.11:7481"
        guard url.utf8.count <= 2048 else { return "must be at most 2048 bytes" }
        let rest: Substring
        if url.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            rest = url.dropFirst(7)
        } else {
            return "\(example) (http:// or https://)"
        }
        guard rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), !rest.contains("?"), !rest.contains("#"),
            !rest.contains("@"), !rest.contains("\\")
        else {
            return "\(example) (no blanks, user info, query or fragment)"
        }
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
        var host = Substring(authority)
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return example }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return example }
                port = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return "\(example) (the bracketed host must be an IPv6 address)"
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return example }
            host = parts[0]
            if parts.count == 2 { port = parts[1] }
            guard SpecValidation.isIPv4(String(host)) || Names.validateDNSSubdomain(String(host)) == nil else {
                return "\(example) (the host must be an IPv4 address or a DNS name)"
            }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.utf8.allSatisfy(Names.isDigit), let n = Int(port),
                (1...65535).contains(n)
            else {
                return "\(example) (the port must be 1-65535)"
            }
        }
        return nil
    }
}
