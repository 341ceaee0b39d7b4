/// Files of one VM on the node: `<vms>/<uid>/` holds its QMP socket, pid file, console log, overlay disk and
/// record.
public struct VMPaths: Sendable, Equatable {
    public let directory: String
    public init(root: String, uid: String) { directory = root + "/" + uid }
    public var qmpSocket: String { directory + "/qmp.sock" }
    public var pidFile: String { directory + "/qemu.pid" }
    public var consoleLog: String { directory + "/console.log" }
    public var overlay: String { directory + "/disk.qcow2" }
    public var record: String { directory + "/record.json" }
}
