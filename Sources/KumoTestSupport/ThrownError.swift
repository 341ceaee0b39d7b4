import KumoModel

/// The `KumoError` a call ended with, or nil if it returned: for `#expect(await kumoError { … }?.code == .forbidden)`.
/// Another error comes back as an `.internal` KumoError whose message says what it was.
public func kumoError(_ body: () async throws -> Void) async -> KumoError? {
    do {
        try await body()
        return nil
    } catch {
        return asKumoError(error)
    }
}

/// The message of the `KumoError` a synchronous call ended with, or nil if it returned.
public func kumoErrorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return asKumoError(error).message
    }
}

private func asKumoError(_ error: any Error) -> KumoError {
    error as? KumoError ?? KumoError(.internal, "not a KumoError: \(error)")
}
