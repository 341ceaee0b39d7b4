import KumoModel
import Foundation
import Synchronization

/// A scenario's figures (`name_unit` keys), its targets, and whether they were met.
struct BenchResult {
    var scenario: String
    var figures: [(String, Double)] = []
    /// (figure key, target, higher is better)
    var targets: [(String, Double, Bool)] = []
    var notes: [String] = []

    mutating func add(_ key: String, _ value: Double) { figures.append((key, value)) }

    mutating func target(_ key: String, _ value: Double, higherIsBetter: Bool) {
        targets.append((key, value, higherIsBetter))
    }

    func value(_ key: String) -> Double? { figures.first { $0.0 == key }?.1 }

    var met: Bool {
        targets.allSatisfy { key, target, higher in
            guard let v = value(key) else { return false }
            return higher ? v >= target : v <= target
        }
    }

    func print(json: Bool) {
        var lines = ["scenario: \(scenario)", ""]
        let width = max(20, (figures.map(\.0.count).max() ?? 0) + 2)
        lines.append("figure".padding(toLength: width, withPad: " ", startingAt: 0) + "value          target")
        for (k, v) in figures {
            var row = k.padding(toLength: width, withPad: " ", startingAt: 0) + format(v).padding(toLength: 15, withPad: " ", startingAt: 0)
            if let t = targets.first(where: { $0.0 == k }) {
                let ok = t.2 ? v >= t.1 : v <= t.1
                row += (t.2 ? "≥ " : "≤ ") + format(t.1) + (ok ? "  met" : "  MISSED")
            }
            lines.append(row)
        }
        lines.append("")
        lines.append("met: \(met)")
        lines += notes.map { "note: \($0)" }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if json {
            var parts = ["\"scenario\":\"\(scenario)\""]
            for (k, v) in figures { parts.append("\"\(k)\":\(format(v))") }
            for (k, t, _) in targets { parts.append("\"target_\(k)\":\(format(t))") }
            parts.append("\"met\":\(met)")
            FileHandle.standardOutput.write(Data(("{" + parts.joined(separator: ",") + "}\n").utf8))
        }
    }

    func format(_ v: Double) -> String {
        if v.rounded() == v && abs(v) < 1e15 { return String(Int64(v)) }
        return String(format: "%.3f", v)
    }
}

/// Latency samples → percentiles.
struct Samples {
    var values: [Double] = []
    mutating func add(_ v: Double) { values.append(v) }
    mutating func add(contentsOf other: [Double]) { values.append(contentsOf: other) }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let idx = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[idx]
    }
}

func milliseconds(_ d: Duration) -> Double {
    d.millisecondsValue
}

/// Thread-safe latency samples shared by concurrent tasks.
final class SharedSamples: Sendable {
    private let samples = Mutex(Samples())
    func add(_ v: Double) { samples.withLock { $0.add(v) } }
    func add(contentsOf v: [Double]) { samples.withLock { $0.add(contentsOf: v) } }
    var snapshot: Samples { samples.withLock { $0 } }
    var count: Int { samples.withLock { $0.values.count } }
}

/// A shared counter.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int = 1) { value.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// A shared flag.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
