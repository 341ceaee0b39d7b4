import Foundation
import KumoModel

/// One line of dnsmasq's lease file: `<expiry epoch> <mac> <ip> <hostname|*> <client-id|*>`.
public struct DHCPLeaseFileEntry: Sendable, Equatable {
    public var expires: Date
    public var mac: String
    public var ip: IPv4Address
    public var hostname: String?

    public static func parse(_ text: String) -> [DHCPLeaseFileEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 4, let expiry = TimeInterval(f[0]), let ip = IPv4Address(String(f[2])) else { return nil }
            return DHCPLeaseFileEntry(
                expires: Date(timeIntervalSince1970: expiry), mac: f[1].lowercased(), ip: ip,
                hostname: f[3] == "*" ? nil : String(f[3]))
        }
    }
}
