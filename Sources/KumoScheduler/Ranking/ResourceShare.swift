/// Fractions of a node's resource, clamped to `0...1`; a node with none allocatable counts as full.
enum ResourceShare {
    @inline(__always)
    static func free(_ allocatable: Int64, _ requested: Int64) -> Double {
        guard allocatable > 0 else { return 0 }
        return min(1, max(0, Double(allocatable - requested) / Double(allocatable)))
    }

    @inline(__always)
    static func used(_ allocatable: Int64, _ requested: Int64) -> Double {
        guard allocatable > 0 else { return 1 }
        return min(1, max(0, Double(requested) / Double(allocatable)))
    }
}
