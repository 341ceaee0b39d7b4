import KumoModel

/// The minimal set of changes that turns the kernel's overlay entries into the desired ones: one `Repair` per
/// changed entry, each carrying its batch line. `ipBatch` and `bridgeBatch` are what `OverlayKernel.apply` feeds
/// to one `ip -batch -` and one `bridge -batch -`; `repairs` is what events and counters report.
///
/// Line order matters because a batch stops at its first failing line: `replace` lines (which cannot fail on a
/// missing entry) come first, deletes after, and neighbour deletes last of all — a `neigh del` of an entry
/// that vanished since the read makes `ip` exit without naming the line, so nothing else should wait behind it.
public struct OverlayPlan: Sendable, Hashable {
    /// Why an entry is changed.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Desired, not in the kernel: added.
        case missing
        /// Desired, in the kernel with a different gateway, MAC, remote or NUD state: replaced.
        case wrong
        /// In the kernel on the overlay device, explained by no desired entry: deleted.
        case extra
    }

    /// Which batch a line belongs to.
    public enum Batch: String, Sendable, Hashable {
        case ip, bridge
    }

    /// One change: what kind of entry, why, the entry itself (desired for missing/wrong, as found for extra),
    /// what the kernel had instead (wrong), and the batch line that makes the change.
    public struct Repair: Sendable, Hashable, CustomStringConvertible {
        public var kind: OverlayEntry.Kind
        public var reason: Reason
        public var entry: String
        public var found: String?
        public var line: String

        public init(kind: OverlayEntry.Kind, reason: Reason, entry: String, found: String? = nil, line: String) {
            self.kind = kind
            self.reason = reason
            self.entry = entry
            self.found = found
            self.line = line
        }

        public var batch: Batch { kind == .fdb ? .bridge : .ip }

        /// `missing route 10.244.2.0/24 via 10.244.2.0`, `wrong neighbor … (found …)`, `extra fdb …`.
        public var description: String {
            "\(reason) \(entry)" + (found.map { " (found \($0))" } ?? "")
        }
    }

    /// The overlay device the lines name.
    public var device: String
    /// In batch order: all `ip` repairs, then all `bridge` repairs.
    public var repairs: [Repair]

    public init(device: String, repairs: [Repair]) {
        self.device = device
        self.repairs = repairs
    }

    /// Lines for `ip -batch -`: route/neigh replaces, route deletes, neigh deletes.
    public var ipBatch: [String] { repairs.filter { $0.batch == .ip }.map(\.line) }
    /// Lines for `bridge -batch -`: fdb replaces, fdb deletes.
    public var bridgeBatch: [String] { repairs.filter { $0.batch == .bridge }.map(\.line) }

    public var isEmpty: Bool { repairs.isEmpty }

    /// How many repairs of a reason (and optionally kind), for counters and summaries.
    public func count(_ reason: Reason, kind: OverlayEntry.Kind? = nil) -> Int {
        repairs.filter { $0.reason == reason && (kind == nil || $0.kind == kind) }.count
    }

    /// `3 missing, 1 wrong, 0 extra` — for a log line per apply.
    public var summary: String {
        Reason.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
    }
}
