import KumoModel

/// Why a replica did not start: the reason (`status.reason` and the event's reason, Kubernetes' names where it has
/// one) and the error. The reason follows from the stage that failed and the error's code, never from the text of
/// a message (a plan error that names the image is not an image pull failure).
struct StartFailure: Error {
    /// Every reason a start can fail with, in one place.
    enum Reason: String, Sendable, CaseIterable {
        /// The image could not be found, downloaded, verified or unpacked.
        case imagePullFailed = "ImagePullFailed"
        /// A secret the replica refers to does not exist, or this node may not read it. The replica waits Pending
        /// (retried with backoff) instead of crash-looping.
        case secretNotFound = "SecretNotFound"
        /// The replica and what it refers to do not make a runnable container: a secret without the key, nothing to
        /// run, an address outside the node's subnet.
        case createContainerConfigError = "CreateContainerConfigError"
        /// The node could not set up the network, the secret files or the container, or could not ask the server.
        case failedStart = "FailedStart"
    }

    var reason: Reason
    var error: KumoError

    /// A planning error (`ContainerPlanning.plan`, pure): a secret it was not given is `.notFound`; everything
    /// else it refuses is the replica's configuration.
    static func planning(_ error: KumoError) -> StartFailure {
        StartFailure(reason: error.code == .notFound ? .secretNotFound : .createContainerConfigError, error: error)
    }
}
