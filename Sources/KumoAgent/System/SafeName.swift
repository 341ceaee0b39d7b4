import KumoModel

/// Checks names that become container ids, interface names, netns names or file names. They never reach a shell
/// (everything runs from argv arrays), but they do become path components and kernel object names, so anything
/// beyond a conservative alphabet (`/`, `..`, spaces, `$`, newlines, …) is refused before it is used.
public enum SafeName {
    /// Linux's IFNAMSIZ − 1.
    public static let interfaceNameLimit = 15

    /// `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most `maxLength` bytes, not `.`/`..`; throws `.invalid` naming `what`.
    public static func check(_ name: String, what: String, maxLength: Int = 128) throws(KumoError) {
        if let reason = reason(name, maxLength: maxLength) {
            throw KumoError(.invalid, "invalid \(what) \"\(name.prefix(80))\": \(reason)")
        }
    }

    /// Why `name` is not acceptable, nil when it is.
    public static func reason(_ name: String, maxLength: Int = 128) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "must not be empty" }
        if bytes.count > maxLength { return "must be at most \(maxLength) characters" }
        if !isAlnum(first) { return "must start with a letter or digit" }
        for b in bytes where !(isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) {
            return "may only contain letters, digits, '_', '-' and '.'"
        }
        return nil
    }

    /// An interface name: `check` with the kernel's 15-byte limit.
    public static func checkInterface(_ name: String) throws(KumoError) {
        try check(name, what: "interface name", maxLength: interfaceNameLimit)
    }

    /// An absolute path without `..` components or characters that would change overlayfs' comma/colon separated
    /// mount options; used for bundle, image and log directories.
    public static func checkPath(_ path: String, what: String) throws(KumoError) {
        guard path.hasPrefix("/") else { throw KumoError(.invalid, "invalid \(what) \"\(path)\": must be absolute") }
        if path.split(separator: "/").contains("..") {
            throw KumoError(.invalid, "invalid \(what) \"\(path)\": must not contain '..'")
        }
        if path.contains(where: { $0 == "," || $0 == ":" || $0 == "\\" || $0 == "\n" || $0 == "\0" }) {
            throw KumoError(.invalid, "invalid \(what) \"\(path)\": must not contain ',', ':', '\\' or control characters")
        }
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }
}
