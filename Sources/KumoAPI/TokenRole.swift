public enum TokenRole: String, Codable, Sendable, CaseIterable {
    /// Project token: read the project (no secret values).
    case view
    /// Project token: read and write the project.
    case edit
    /// Join token: only exchanges itself for a node token (`POST /api/v1/join`); expires.
    case join
    /// Node token (identity `node/<name>`): what the node agent may do (DESIGN.md, Authorization).
    case node
}
