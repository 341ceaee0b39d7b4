import KumoModel
import KumoSystem
import Logging

extension OverlayKernel {
    /// The device as the kernel has it now (`.missing` when absent); one `ip -d -j addr show`.
    public func deviceState(hostNetns: String? = nil) async throws(KumoError) -> OverlayDeviceState {
        try checkNetns(hostNetns)
        let shown: String
        do {
            shown = try await IPCommand(command: command, netns: hostNetns).check(
                ["-d", "-j", "addr", "show", "dev", device], what: "failed to look up \(device)")
        } catch where error.code == .notFound {
            return .missing
        }
        return try OverlayDeviceState.parse(shown)
    }

    /// Creates the VXLAN device or brings it back to spec, and returns what it changed (empty = nothing; the
    /// caller turns changes into events). Identity — VNI, port, local IP, underlay device, MAC, nolearning — can
    /// only be fixed by re-creating the device, which drops every entry on it, so a "recreated" change means the
    /// caller must re-apply all entries; MTU, up and address are fixed in place. At most two processes (state,
    /// one batch); none but the read when all is well, so it is cheap to call on every periodic check.
    /// A non-VXLAN interface with our name is refused, not replaced.
    @discardableResult
    public func ensureDevice(
        vni: Int = 1, port: Int = 4789, mac: String, localIP: IPv4Address, underlayDevice: String, mtu: Int,
        address: IPv4Address, hostNetns: String? = nil
    ) async throws(KumoError) -> [String] {
        try SafeName.checkInterface(underlayDevice)
        guard (1...0xFF_FFFF).contains(vni) else { throw KumoError(.invalid, "invalid VNI \(vni)") }
        guard (1...65535).contains(port) else { throw KumoError(.invalid, "invalid VXLAN port \(port)") }
        guard (68...65535).contains(mtu) else { throw KumoError(.invalid, "invalid MTU \(mtu)") }
        guard OverlayPeer.isUnicastMAC(mac) else { throw KumoError(.invalid, "invalid VTEP MAC \"\(mac.prefix(40))\"") }
        let mac = mac.lowercased()
        let state = try await deviceState(hostNetns: hostNetns)
        if state.exists && state.kind != "vxlan" {
            throw KumoError(
                .conflict, "failed to set up \(device): an interface of that name exists and is not a VXLAN device")
        }

        var lines: [String] = []
        var changes: [String] = []
        var current = state
        let identity = Self.identityDrift(
            state, vni: vni, port: port, mac: mac, localIP: localIP, underlayDevice: underlayDevice)
        if state.exists && !identity.isEmpty {
            lines.append("link del dev \(device)")
            changes.append("recreated (\(identity.joined(separator: ", ")))")
            current = .missing
        }
        if !current.exists {
            lines.append(
                "link add \(device) address \(mac) mtu \(mtu) type vxlan id \(vni) local \(localIP) dev \(underlayDevice)"
                    + " dstport \(port) nolearning")
            if state.exists == false { changes.append("created") }
            current = OverlayDeviceState(exists: true, kind: "vxlan", mtu: mtu)
        }
        if current.mtu != mtu {
            lines.append("link set dev \(device) mtu \(mtu)")
            changes.append("mtu \(current.mtu.map(String.init) ?? "?") → \(mtu)")
        }
        if !current.up {
            lines.append("link set dev \(device) up")
            if state.exists && identity.isEmpty { changes.append("set up") }
        }
        let want = "\(address)/32"
        if !current.addresses.contains(want) {
            lines.append("address replace \(want) dev \(device)")
            if state.exists && identity.isEmpty { changes.append("address \(want) added") }
        }
        for other in current.addresses where other != want {
            lines.append("address del \(other) dev \(device)")
            changes.append("address \(other) removed")
        }
        if !lines.isEmpty {
            try await IPCommand(command: command, netns: hostNetns).batch(lines, what: "failed to set up \(device)")
            logger.info("overlay device changed", metadata: ["device": "\(device)", "changes": "\(changes)"])
        }
        return changes
    }

    /// What differs in the device's identity (empty = nothing): each item re-creates the device.
    static func identityDrift(
        _ s: OverlayDeviceState, vni: Int, port: Int, mac: String, localIP: IPv4Address, underlayDevice: String
    ) -> [String] {
        var drift: [String] = []
        if s.vni != vni { drift.append("vni \(s.vni.map(String.init) ?? "?") → \(vni)") }
        if s.port != port { drift.append("port \(s.port.map(String.init) ?? "?") → \(port)") }
        if s.localIP != localIP { drift.append("local \(s.localIP?.description ?? "?") → \(localIP)") }
        if s.underlayDevice != underlayDevice { drift.append("dev \(s.underlayDevice ?? "?") → \(underlayDevice)") }
        if s.mac != mac { drift.append("mac \(s.mac ?? "?") → \(mac)") }
        if s.learning != false { drift.append("learning on") }
        return drift
    }
}
