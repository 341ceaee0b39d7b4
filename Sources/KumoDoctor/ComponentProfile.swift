/// What `kumo explain COMPONENT` says about one component: its one responsibility, what it needs, what breaks if
/// it dies and what keeps working, and where to look. The dependency edges are the data the cause ranking walks.
public struct ComponentProfile: Codable, Sendable, Equatable {
    public var component: Component
    /// Where it runs: `server`, `agent` (one per node), `node` (a per-node daemon the agent supervises), `external`.
    public var runsIn: String
    public var responsibility: String
    /// What it needs to do its work: a failing check of one of these can explain a symptom of this component.
    public var dependsOn: [Component]
    public var ifItDies: String
    public var keepsWorking: String
    /// Where its state is: a `kumo state` view, a store key, a file.
    public var state: String
    public var logs: String
    public var metrics: String

    public init(
        _ component: Component, runsIn: String, responsibility: String, dependsOn: [Component], ifItDies: String,
        keepsWorking: String, state: String, logs: String, metrics: String
    ) {
        self.component = component
        self.runsIn = runsIn
        self.responsibility = responsibility
        self.dependsOn = dependsOn
        self.ifItDies = ifItDies
        self.keepsWorking = keepsWorking
        self.state = state
        self.logs = logs
        self.metrics = metrics
    }
}
