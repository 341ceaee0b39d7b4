import Foundation
import KumoModel

/// kubectl-style aligned columns.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                s += i == cells.count - 1 ? c : c.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }
            return s
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Which columns each kind shows in `kumo get`.
enum ObjectColumns {
    static func headers(_ kind: Kind, wide: Bool, withProject: Bool) -> [String] {
        var h: [String]
        switch kind {
        case .node:
            h = ["NAME", "STATUS", "POD-CIDR", "AGE"]
                + (wide ? ["PUBLIC-IP", "VTEP-MAC", "OVERLAY", "AGENT", "CPU", "MEMORY", "LABELS"] : [])
        case .project: h = ["NAME", "AGE"] + (wide ? ["DESCRIPTION"] : [])
        case .image: h = ["NAME", "TAGS", "AGE"]
        case .workload: h = ["NAME", "READY", "UP-TO-DATE", "AGE"] + (wide ? ["IMAGE"] : [])
        case .replica: h = ["NAME", "STATUS", "READY", "RESTARTS", "NODE", "IP", "AGE"] + (wide ? ["IMAGE", "REASON"] : [])
        case .instance: h = ["NAME", "STATE", "NODE", "IP", "AGE"] + (wide ? ["MAC", "VCPUS", "MEMORY", "IMAGE", "REASON"] : [])
        case .service: h = ["NAME", "CLUSTER-IP", "PORTS", "ENDPOINTS", "AGE"] + (wide ? ["EXTERNAL", "GENERATION", "SELECTOR"] : [])
        case .secret: h = ["NAME", "TYPE", "KEYS", "AGE"]
        case .event: h = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        }
        return withProject ? ["PROJECT"] + h : h
    }

    static func row(_ o: JSONValue, _ kind: Kind, wide: Bool, withProject: Bool, now: Date = Date()) -> [String] {
        let name = o["metadata"]?["name"]?.stringValue ?? ""
        let age = Self.age(o["metadata"]?["createdAt"]?.stringValue, now: now)
        let spec = o["spec"]
        let status = o["status"]
        func s(_ v: JSONValue?) -> String {
            guard let v, !v.isNull else { return "<none>" }
            return v.stringValue ?? v.jsonString
        }
        var r: [String]
        switch kind {
        case .node:
            let ready = status?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }
            var st = ready.map { $0["status"]?.stringValue == "True" ? "Ready" : "NotReady" } ?? "Unknown"
            if spec?["unschedulable"]?.boolValue == true { st += ",SchedulingDisabled" }
            r = [name, st, s(spec?["podCIDR"]), age]
            if wide {
                let labels = (o["metadata"]?["labels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
                let overlay = status?["overlay"]
                let publicIP = overlay?["publicIP"]?.stringValue ?? status?["addresses"]?.arrayValue?.first?.stringValue
                let health = overlay?["vtepMAC"]?.stringValue == nil ? "missing" : (overlay?["backend"]?.stringValue ?? "vxlan")
                r += [
                    publicIP ?? "<none>", s(overlay?["vtepMAC"]), health, s(status?["info"]?["agentVersion"]),
                    s(status?["capacity"]?["cpu"]), s(status?["capacity"]?["memory"]), labels.isEmpty ? "<none>" : labels,
                ]
            }
        case .project:
            r = [name, age] + (wide ? [s(spec?["description"])] : [])
        case .image:
            let tags = (spec?["tags"]?.objectValue?.keys.sorted() ?? []).joined(separator: ",")
            r = [name, tags.isEmpty ? "<none>" : tags, age]
        case .workload:
            let want = Int(spec?["replicas"]?.numberValue ?? 0)
            let ready = Int(status?["readyReplicas"]?.numberValue ?? 0)
            r = [name, "\(ready)/\(want)", String(Int(status?["updatedReplicas"]?.numberValue ?? 0)), age]
            if wide { r.append(s(spec?["template"]?["spec"]?["image"])) }
        case .replica:
            var phase = s(status?["phase"])
            if o["metadata"]?["deletionTimestamp"] != nil { phase = "Terminating" }
            r = [
                name, phase, status?["ready"]?.boolValue == true ? "yes" : "no",
                String(Int(status?["restartCount"]?.numberValue ?? 0)), s(spec?["nodeName"]), s(spec?["network"]?["ip"]), age,
            ]
            if wide { r += [s(spec?["image"]), s(status?["reason"])] }
        case .instance:
            var phase = s(status?["phase"])
            if phase == "<none>" || phase.isEmpty { phase = "Pending" }
            r = [name, phase, s(spec?["nodeName"]), s(spec?["network"]?["ip"]), age]
            if wide {
                r += [
                    s(spec?["network"]?["mac"]), spec?["vcpus"]?.numberValue.map { String(Int($0)) } ?? "1",
                    spec?["memory"]?.stringValue ?? "256Mi", s(spec?["image"]), s(status?["reason"]),
                ]
            }
        case .service:
            let ports = (spec?["ports"]?.arrayValue ?? []).map { p in
                let port = p["port"]?.numberValue.map { String(Int($0)) } ?? "?"
                return port + "/" + (p["protocol"]?.stringValue ?? "TCP")
            }.joined(separator: ",")
            let endpoints = status?["endpoints"]?.arrayValue.map { String($0.count) } ?? "-"
            r = [name, s(spec?["clusterIP"]), ports, endpoints, age]
            if wide {
                r.append(spec?["external"]?["port"]?.numberValue.map { String(Int($0)) } ?? "-")
                r.append(status?["generation"]?.numberValue.map { String(Int($0)) } ?? "-")
                r.append((spec?["selector"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ","))
            }
        case .secret:
            r = [name, s(spec?["type"]), String(spec?["data"]?.objectValue?.count ?? 0), age]
        case .event:
            let reg = spec?["regarding"]
            let object = "\((reg?["kind"]?.stringValue ?? "").lowercased())/\(reg?["name"]?.stringValue ?? "")"
            r = [
                Self.age(spec?["lastTime"]?.stringValue ?? o["metadata"]?["createdAt"]?.stringValue, now: now),
                s(spec?["type"]), s(spec?["reason"]), object, s(spec?["message"]),
            ]
        }
        return withProject ? [o["metadata"]?["project"]?.stringValue ?? "-"] + r : r
    }

    /// `5s`, `3m`, `2h`, `4d` since an RFC 3339 time.
    static func age(_ stamp: String?, now: Date = Date()) -> String {
        guard let stamp, let time = Timestamp(rfc3339: stamp) else { return "<unknown>" }
        let secs = max(0, Int(now.timeIntervalSince1970) - Int(time.millisecondsSinceEpoch / 1000))
        if secs < 120 { return "\(secs)s" }
        if secs < 7200 { return "\(secs / 60)m" }
        if secs < 172_800 { return "\(secs / 3600)h" }
        return "\(secs / 86400)d"
    }
}
