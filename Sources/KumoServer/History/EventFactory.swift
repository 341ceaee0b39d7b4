import Foundation
import KumoModel

/// Builds Event objects that components record about the objects they act on (in the same transaction as the
/// change when there is one). Events are regular objects of kind Event: listed with `kumo events`, kept for
/// `--event-ttl`.
public enum EventFactory {
    public struct Made: Sendable {
        public var ref: ObjectRef
        public var key: String
        public var bytes: [UInt8]
        public var object: JSONValue
    }

    public static func make(
        regarding: ObjectRef, reason: String, type: String = "Normal", source: String, message: String,
        now: String = ObjectCodec.now()
    ) -> Made {
        make(
            regarding: ObjectReference(kind: regarding.kind, name: regarding.name, project: regarding.kind.scope == .cluster ? nil : regarding.project),
            reason: reason, type: type, source: source, message: message, now: now)
    }

    /// An event regarding any reference, a component's too: it lives in the reference's project, or is
    /// cluster-scoped when the reference has none.
    public static func make(
        regarding: ObjectReference, reason: String, type: String = "Normal", source: String, message: String,
        now: String = ObjectCodec.now()
    ) -> Made {
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let name = sanitized(regarding.name) + "." + suffix
        let project = regarding.project
        let ref = ObjectRef(.event, project: project, name: name)
        var meta: [String: JSONValue] = [
            "name": .string(name), "uid": .string(UUID().uuidString.lowercased()), "createdAt": .string(now),
        ]
        if let project { meta["project"] = .string(project) }
        var regardingJSON: [String: JSONValue] = [
            "kind": .string(regarding.kind), "name": .string(regarding.name),
        ]
        if let p = regarding.project { regardingJSON["project"] = .string(p) }
        let object: JSONValue = .object([
            "apiVersion": .string(Kind.apiVersion), "kind": .string(Kind.event.rawValue),
            "metadata": .object(meta),
            "spec": .object([
                "regarding": .object(regardingJSON), "reason": .string(reason), "message": .string(String(message.prefix(4096))),
                "type": .string(type), "source": .string(source), "count": .number(1),
                "firstTime": .string(now), "lastTime": .string(now),
            ]),
        ])
        return Made(ref: ref, key: ref.storeKey, bytes: object.serialized(), object: object)
    }

    /// Event names are DNS subdomains: lowercase, `[a-z0-9.-]`, at most 200 characters of the object name.
    static func sanitized(_ name: String) -> String {
        var out = ""
        for c in name.lowercased().unicodeScalars.prefix(200) {
            if ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "." {
                out.unicodeScalars.append(c)
            } else {
                out += "-"
            }
        }
        while out.hasPrefix("-") || out.hasPrefix(".") { out.removeFirst() }
        return out.isEmpty ? "object" : out
    }
}
