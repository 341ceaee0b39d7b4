public enum KumoVersion {
    public static let current = "0.1.0"
}
