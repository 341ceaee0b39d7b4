import Foundation
import KumoModel

/// `kumo describe instance/x`: the create steps as a timeline — offset from the first step, duration, step,
/// component, state and message.
enum InstanceTimeline {
    static func render(_ steps: [JSONValue]) -> String {
        let starts = steps.compactMap { $0["startedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
        let origin = starts.min()
        var t = Table(headers: ["  AT", "TOOK", "STEP", "COMPONENT", "STATE", "DETAIL"])
        t.rows = steps.map { s in
            let start = s["startedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            let end = s["finishedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            let at = (start != nil && origin != nil) ? "+" + ms(start!.millisecondsSinceEpoch - origin!.millisecondsSinceEpoch) : "?"
            let took = (start != nil && end != nil) ? ms(end!.millisecondsSinceEpoch - start!.millisecondsSinceEpoch) : "…"
            return [
                "  " + at, took, s["name"]?.stringValue ?? "?", s["component"]?.stringValue ?? "", s["state"]?.stringValue ?? "",
                s["message"]?.stringValue ?? "",
            ]
        }
        return t.render()
    }

    static func ms(_ value: Int64) -> String {
        value >= 10_000 ? String(format: "%.1fs", Double(value) / 1000) : "\(value)ms"
    }
}
