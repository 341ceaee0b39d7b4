import KumoModel

/// Helpers for `[Condition]` as the reconcile cores use it: one entry per type, transition time kept while
/// nothing about the condition changes.
enum ConditionList {
    static func find(_ type: String, in conditions: [Condition]?) -> Condition? {
        conditions?.first { $0.type == type }
    }

    /// `wanted` with its `lastTransitionTime` set: kept from `previous` when status and reason are unchanged,
    /// otherwise `now` (a reason change restarts the clock too: Kumo conditions have no separate update time).
    static func stamped(_ wanted: Condition, previous: Condition?, now: Timestamp) -> Condition {
        var c = wanted
        if let previous, previous.status == wanted.status, previous.reason == wanted.reason,
            let kept = previous.lastTransitionTime
        {
            c.lastTransitionTime = kept
        } else {
            c.lastTransitionTime = now.rfc3339
        }
        return c
    }

    /// `conditions` with `condition` replacing the entry of its type (appended when absent); order kept.
    static func setting(_ condition: Condition, in conditions: [Condition]?) -> [Condition] {
        var list = conditions ?? []
        if let i = list.firstIndex(where: { $0.type == condition.type }) {
            list[i] = condition
        } else {
            list.append(condition)
        }
        return list
    }
}
