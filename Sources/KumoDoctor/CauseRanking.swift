import KumoModel

/// Which finding explains which, and which are root causes. Pure: findings in, a graph out.
///
/// A finding C explains a finding S when
/// - C names what S suspects (S's `suspects` holds C's object), or C names S's object among what it breaks (C's
///   `affects`): an object link, the strongest;
/// - or S is a symptom (its code's definition says so), C's component is upstream of S's in the component
///   graph, and C's scope covers S's: a cause on node-2 explains symptoms on node-2, a cluster-wide cause explains
///   symptoms everywhere.
/// An `info` finding is a standing fact and explains nothing. Root causes are the findings nothing else explains.
public struct CauseRanking: Sendable {
    public enum Link: Int, Sendable, Comparable {
        case clusterWide = 1, sameNode = 2, object = 3
        public static func < (a: Link, b: Link) -> Bool { a.rawValue < b.rawValue }
    }

    public let findings: [Finding]
    /// `explains[i]`: indices of findings i explains directly, with the link.
    public let explains: [[(index: Int, link: Link)]]
    /// `explainedBy[j]`: indices of findings that explain j directly.
    public let explainedBy: [[(index: Int, link: Link)]]
    /// Indices of root causes.
    public let roots: [Int]

    public init(_ findings: [Finding], graph: ComponentGraph = .kumo, symptoms: Set<String> = Doctor.symptomCodes) {
        self.findings = findings
        let n = findings.count
        var out = [[(index: Int, link: Link)]](repeating: [], count: n)
        var inc = [[(index: Int, link: Link)]](repeating: [], count: n)
        // index by object and by suspect so the pairs stay near-linear on large snapshots
        var byObject: [ObjectReference: [Int]] = [:]
        for (i, f) in findings.enumerated() { if let o = f.object { byObject[o, default: []].append(i) } }
        var symptomsByComponent: [Component: [Int]] = [:]
        for (i, f) in findings.enumerated() where symptoms.contains(f.code) { symptomsByComponent[f.component, default: []].append(i) }
        func add(_ c: Int, _ s: Int, _ link: Link) {
            guard c != s, findings[c].severity != .info else { return }
            if let k = out[c].firstIndex(where: { $0.index == s }) {
                if out[c][k].link < link {
                    out[c][k].link = link
                    if let m = inc[s].firstIndex(where: { $0.index == c }) { inc[s][m].link = link }
                }
                return
            }
            out[c].append((s, link))
            inc[s].append((c, link))
        }
        for (s, f) in findings.enumerated() {
            for suspect in f.suspects { for c in byObject[suspect] ?? [] { add(c, s, .object) } }
        }
        for (c, f) in findings.enumerated() {
            for a in f.affects { for s in byObject[a] ?? [] { add(c, s, .object) } }
            guard f.severity != .info else { continue }
            let scope = f.scopeNodes
            for (component, idx) in symptomsByComponent where graph.isUpstream(f.component, of: component) {
                for s in idx {
                    if scope.isEmpty {
                        add(c, s, .clusterWide)
                    } else if !scope.isDisjoint(with: findings[s].scopeNodes) {
                        add(c, s, .sameNode)
                    }
                }
            }
        }
        // mutual object links (A suspects B's object and B affects A's): keep the edge from the more upstream one
        for c in 0..<n {
            for e in out[c] where out[e.index].contains(where: { $0.index == c }) {
                let a = findings[c], b = findings[e.index]
                let keepC = graph.depth(of: a.component) != graph.depth(of: b.component)
                    ? graph.depth(of: a.component) < graph.depth(of: b.component)
                    : (a.severity, b.code) > (b.severity, a.code)
                let (from, to) = keepC ? (e.index, c) : (c, e.index)
                out[from].removeAll { $0.index == to }
                inc[to].removeAll { $0.index == from }
            }
        }
        self.explains = out
        self.explainedBy = inc
        // roots: nothing explains them; then one per remaining cycle, the most severe, earliest
        var roots = (0..<n).filter { inc[$0].isEmpty }
        var reached = Set<Int>()
        func reach(_ i: Int) {
            var stack = [i]
            while let x = stack.popLast() {
                guard reached.insert(x).inserted else { continue }
                stack += out[x].map(\.index)
            }
        }
        roots.forEach(reach)
        while reached.count < n {
            let rest = (0..<n).filter { !reached.contains($0) }
            let pick = rest.max { a, b in
                (findings[a].severity, findings[b].since ?? "~") < (findings[b].severity, findings[a].since ?? "~")
            }!
            roots.append(pick)
            reach(pick)
        }
        self.roots = roots
    }

    /// Every finding `i` explains, directly or through others, most direct first.
    public func descendants(of i: Int) -> [Int] {
        var seen: Set<Int> = [i]
        var order: [Int] = []
        var frontier = explains[i].sorted { $0.link > $1.link }.map(\.index)
        while !frontier.isEmpty {
            var next: [Int] = []
            for x in frontier where seen.insert(x).inserted {
                order.append(x)
                next += explains[x].map(\.index)
            }
            frontier = next
        }
        return order
    }

    /// The root causes behind finding `j` (itself when it is one), best first: the strongest link into the chain,
    /// then a recorded change just before its onset, then the earliest onset, then severity.
    public func causes(of j: Int) -> [Int] {
        if explainedBy[j].isEmpty { return [j] }
        var best: [Int: Link] = [:]
        var seen: Set<Int> = [j]
        var frontier: [(Int, Link)] = explainedBy[j].map { ($0.index, $0.link) }
        while !frontier.isEmpty {
            var next: [(Int, Link)] = []
            for (x, link) in frontier where seen.insert(x).inserted {
                if roots.contains(x) { best[x] = max(best[x] ?? link, link) }
                next += explainedBy[x].map { ($0.index, min(link, $0.link)) }
            }
            frontier = next
        }
        return best.keys.sorted { a, b in rank(a, best[a]!) > rank(b, best[b]!) }
    }

    private func rank(_ i: Int, _ link: Link) -> (Int, Int, Int64, Int, String) {
        let f = findings[i]
        let since = f.sinceTime?.millisecondsSinceEpoch ?? Int64.max
        let sev = f.severity == .error ? 2 : f.severity == .warn ? 1 : 0
        return (link.rawValue, f.recentChange == nil ? 0 : 1, -since, sev, f.code)
    }

    /// Root causes ranked for the whole cloud: most severe, explaining most, with a recorded change, earliest.
    public func rankedRoots() -> [Int] {
        roots.sorted { a, b in
            let fa = findings[a], fb = findings[b]
            if fa.severity != fb.severity { return fa.severity > fb.severity }
            let ea = descendants(of: a).count, eb = descendants(of: b).count
            if ea != eb { return ea > eb }
            if (fa.recentChange != nil) != (fb.recentChange != nil) { return fa.recentChange != nil }
            let sa = fa.sinceTime?.millisecondsSinceEpoch ?? Int64.max, sb = fb.sinceTime?.millisecondsSinceEpoch ?? Int64.max
            if sa != sb { return sa < sb }
            return fa.key < fb.key
        }
    }
}
