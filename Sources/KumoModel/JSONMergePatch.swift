/// JSON Merge Patch (RFC 7386): the body of `PATCH` requests.
///
/// A patch that is an object merges member by member into the target (a `null` member removes, an object
/// member merges recursively, anything else replaces); a patch that is not an object replaces the target.
/// Arrays are always replaced wholesale.
public enum JSONMergePatch {
    /// `MergePatch(Target, Patch)` exactly as RFC 7386 section 2 defines it.
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let o) = target { result = o } else { result = [:] }
        for (name, value) in members {
            if case .null = value {
                result.removeValue(forKey: name)
            } else {
                result[name] = apply(value, to: result[name] ?? .null)
            }
        }
        return .object(result)
    }

    /// A merge patch that turns `from` into `to`: `apply(diff(from: a, to: b), to: a) == b`.
    ///
    /// Objects are diffed member by member (only changed members appear; removed members become `null`);
    /// anything else, arrays included, is replaced wholesale. Merge patches cannot express an object member
    /// whose value is `null` (null means "remove"), so such members in `to` are treated as absent: they are
    /// removed if `from` has them and left out otherwise. `diff` of equal objects is `{}`.
    public static func diff(from: JSONValue, to: JSONValue) -> JSONValue {
        guard case .object(let target) = to else { return to }
        guard case .object(let source) = from else {
            // The patch is applied to `{}` in this case (RFC 7386: a non-object target becomes `{}`).
            return diff(from: .object([:]), to: to)
        }
        var patch: [String: JSONValue] = [:]
        for (name, old) in source {
            switch target[name] {
            case nil, .null?:
                patch[name] = .null
            case let new?:
                if new != old { patch[name] = diff(from: old, to: new) }
            }
        }
        for (name, new) in target where source[name] == nil {
            if case .null = new { continue }
            patch[name] = diff(from: .null, to: new)
        }
        return .object(patch)
    }
}
