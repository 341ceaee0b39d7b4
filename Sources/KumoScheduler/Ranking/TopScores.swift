/// The three best (node, score) pairs seen so far, best first; an earlier node keeps its place on a tie.
struct TopScores {
    private var n0 = -1, n1 = -1, n2 = -1
    private var s0 = 0.0, s1 = 0.0, s2 = 0.0

    @inline(__always)
    mutating func offer(node: Int, score: Double) {
        if n0 < 0 || score > s0 {
            (n2, s2) = (n1, s1)
            (n1, s1) = (n0, s0)
            (n0, s0) = (node, score)
        } else if n1 < 0 || score > s1 {
            (n2, s2) = (n1, s1)
            (n1, s1) = (node, score)
        } else if n2 < 0 || score > s2 {
            (n2, s2) = (node, score)
        }
    }

    var first: Int? { n0 < 0 ? nil : n0 }

    var nodes: [(node: Int, score: Double)] {
        [(n0, s0), (n1, s1), (n2, s2)].filter { $0.0 >= 0 }.map { (node: $0.0, score: $0.1) }
    }
}
