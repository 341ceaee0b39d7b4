/// Content type of a server-side apply request (`kumo apply`): the body is the applied object; fields this
/// manager applied before and left out now are removed, other managers' fields are kept.
public let applyPatchContentType = "application/apply-patch+json"
public let mergePatchContentType = "application/merge-patch+json"
