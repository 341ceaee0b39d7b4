/// The components and their dependencies (`ComponentCatalog.profiles`) as a graph: who is upstream of whom.
public struct ComponentGraph: Sendable {
    public let profiles: [Component: ComponentProfile]
    /// Every component each one depends on, directly or through others.
    private let upstreamClosure: [Component: Set<Component>]

    public init(_ profiles: [ComponentProfile]) {
        var byComponent: [Component: ComponentProfile] = [:]
        for p in profiles { byComponent[p.component] = p }
        self.profiles = byComponent
        var closure: [Component: Set<Component>] = [:]
        func visit(_ c: Component, _ path: Set<Component>) -> Set<Component> {
            if let done = closure[c] { return done }
            var out: Set<Component> = []
            for d in byComponent[c]?.dependsOn ?? [] where !path.contains(d) {
                out.insert(d)
                out.formUnion(visit(d, path.union([c])))
            }
            closure[c] = out
            return out
        }
        for c in Component.allCases { _ = visit(c, []) }
        self.upstreamClosure = closure
    }

    public static let kumo = ComponentGraph(ComponentCatalog.profiles)

    /// Whether `cause` is (transitively) something `symptom` depends on.
    public func isUpstream(_ cause: Component, of symptom: Component) -> Bool {
        upstreamClosure[symptom]?.contains(cause) ?? false
    }

    public func upstream(of c: Component) -> Set<Component> { upstreamClosure[c] ?? [] }

    /// The components that depend on `c` directly.
    public func dependents(of c: Component) -> [Component] {
        Component.allCases.filter { profiles[$0]?.dependsOn.contains(c) ?? false }
    }

    /// How far up the graph `c` sits: 0 for what depends on nothing. A cause is more often upstream.
    public func depth(of c: Component) -> Int { upstreamClosure[c]?.count ?? 0 }
}
