import KumoModel

/// What a code means and what to do: `kumo doctor explain CODE`, and `docs/runbooks.md` (kept equal by a test).
public struct Runbook: Codable, Sendable, Equatable {
    public var meaning: String
    /// Findings that look the same and how to tell them apart.
    public var lookAlikes: [String]
    public var actions: [String]

    public init(meaning: String, lookAlikes: [String], actions: [String]) {
        self.meaning = meaning
        self.lookAlikes = lookAlikes
        self.actions = actions
    }
}

/// One stable code: the severity and component its findings usually have (a finding may say otherwise when the
/// evidence names another writer), a title and its runbook.
public struct CheckDefinition: Codable, Sendable, Equatable {
    public var code: String
    public var severity: Severity
    public var component: Component
    /// A symptom shows where a problem is seen (a service answering 503); the cause ranking looks upstream of it.
    public var symptom: Bool
    public var title: String
    public var runbook: Runbook

    public init(
        _ code: String, _ severity: Severity, _ component: Component, symptom: Bool = false, title: String,
        runbook: Runbook
    ) {
        self.code = code
        self.severity = severity
        self.component = component
        self.symptom = symptom
        self.title = title
        self.runbook = runbook
    }
}

/// One area of checks (one file): its codes and a pure evaluation over a snapshot.
public protocol HealthArea: Sendable {
    static var name: String { get }
    static var definitions: [CheckDefinition] { get }
    static func evaluate(_ snapshot: HealthSnapshot) -> [Finding]
}

extension HealthArea {
    /// A finding of one of this area's codes, with the code's usual severity and component.
    static func finding(
        _ code: String, severity: Severity? = nil, component: Component? = nil, node: String? = nil,
        object: ObjectReference? = nil, summary: String, count: Int = 1, detail: [String] = [],
        evidence: [Evidence] = [], since: Timestamp? = nil
    ) -> Finding {
        guard let d = definitions.first(where: { $0.code == code }) else {
            preconditionFailure("\(name) has no code \(code)")  // a programming error, caught by the catalogue test
        }
        return Finding(
            code: code, severity: severity ?? d.severity, component: component ?? d.component, node: node,
            object: object, summary: summary, count: count, detail: detail, evidence: evidence, since: since)
    }
}
