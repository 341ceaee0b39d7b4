import Testing

@testable import KumoModel

@Suite struct NamesTests {
    static let hex64 = String(repeating: "0123456789abcdef", count: 4)

    @Test func dnsLabels() {
        for ok in ["a", "web", "web-1", "1web", "a1-b2-c3", String(repeating: "a", count: 63)] {
            #expect(Names.validateDNSLabel(ok) == nil, "\(ok)")
        }
        for bad in ["", "-web", "web-", "Web", "web_1", "web.1", "wéb", "a b", String(repeating: "a", count: 64)] {
            #expect(Names.validateDNSLabel(bad) != nil, "\(bad)")
        }
        #expect(Names.validateDNSLabel(String(repeating: "a", count: 64)) == "must be no more than 63 characters")
        #expect(Names.validateDNSLabel("") == "must not be empty")
    }

    @Test func dnsSubdomains() {
        for ok in ["a", "web.team-a", "web-5d8f.17a8f2c3", "a.b.c.d", String(repeating: "a.", count: 126) + "a"] {
            #expect(Names.validateDNSSubdomain(ok) == nil, "\(ok)")
        }
        for bad in [
            "", ".a", "a.", "a..b", "A.b", "a_b.c", "-a.b", "a-.b", String(repeating: "a.", count: 127) + "a",
            String(repeating: "a", count: 64) + ".b",
        ] {
            #expect(Names.validateDNSSubdomain(bad) != nil, "\(bad)")
        }
    }

    @Test func imageNames() {
        for ok in ["nginx", "library/nginx", "team/web.frontend", "a_b/c-d/e.f", "a1/2b", "my-registry.local/app"] {
            #expect(Names.validateImageName(ok) == nil, "\(ok)")
        }
        for bad in [
            "", "Nginx", "nginx/", "/nginx", "a//b", "-a", "a-", "a--b", "a._b", "a:b", "a@b", "a b",
            String(repeating: "a", count: 256),
        ] {
            #expect(Names.validateImageName(bad) != nil, "\(bad)")
        }
        #expect(Names.validateImageName(String(repeating: "a", count: 255)) == nil)
    }

    @Test func imageTagsAndDigests() {
        for ok in ["latest", "1.25", "v1.2.3-rc.1", "_x", "A_b", String(repeating: "a", count: 128)] {
            #expect(Names.validateImageTag(ok) == nil, "\(ok)")
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "a b", String(repeating: "a", count: 129)] {
            #expect(Names.validateImageTag(bad) != nil, "\(bad)")
        }
        #expect(Names.validateDigest("sha256:" + Self.hex64) == nil)
        for bad in [
            "", Self.hex64, "sha256:" + Self.hex64.uppercased(), "sha256:" + Self.hex64.dropLast(),
            "sha512:" + Self.hex64, "sha256:" + Self.hex64 + "0", "sha256:" + Self.hex64.dropLast() + "g",
        ] {
            #expect(Names.validateDigest(bad) != nil, "\(bad)")
        }
    }

    @Test func imageReferences() throws {
        let digest = "sha256:" + Self.hex64
        for ok in [
            "nginx", "nginx:1.25", "library/nginx:latest", "nginx@" + digest, "nginx:1.25@" + digest,
            "team/web.frontend:v2_0",
        ] {
            #expect(Names.validateImageReference(ok) == nil, "\(ok)")
        }
        for bad in [
            "", "nginx:", ":latest", "nginx:-x", "Nginx:1", "nginx@sha256:abc", "nginx@md5:" + Self.hex64,
            "nginx@", "@" + digest, "nginx:a:b", "localhost:5000/nginx", "nginx:1.25@" + digest + "x",
        ] {
            #expect(Names.validateImageReference(bad) != nil, "\(bad)")
        }
        #expect(Names.validateImageReference("nginx:-x")?.hasPrefix("tag ") == true)
        #expect(Names.validateImageReference("Nginx")?.hasPrefix("name ") == true)
        #expect(Names.validateImageReference("nginx@sha256:abc")?.hasPrefix("digest ") == true)
    }

    @Test func parsesImageReferences() throws {
        let digest = "sha256:" + Self.hex64
        let bare = try ImageReference(parsing: "library/nginx")
        #expect(bare == ImageReference(name: "library/nginx"))
        #expect(bare.tag == nil && bare.digest == nil && bare.tagOrLatest == "latest")

        let tagged = try ImageReference(parsing: "library/nginx:1.25")
        #expect(tagged.name == "library/nginx" && tagged.tag == "1.25" && tagged.digest == nil)
        #expect(tagged.tagOrLatest == "1.25")

        let pinned = try ImageReference(parsing: "nginx@" + digest)
        #expect(pinned.name == "nginx" && pinned.tag == nil && pinned.digest == digest)

        let both = try ImageReference(parsing: "nginx:1.25@" + digest)
        #expect(both == ImageReference(name: "nginx", tag: "1.25", digest: digest))
        #expect(both.description == "nginx:1.25@" + digest)

        do {
            _ = try ImageReference(parsing: "Nginx:1")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalid)
            #expect(error.message.hasPrefix(#"invalid image reference "Nginx:1": name "#))
        }
    }

    @Test func labelKeysAndValues() {
        for ok in [
            "app", "a", "app.kubernetes.io/name", "kumo.dev/role", "A_b.c-D", "x/" + String(repeating: "a", count: 63),
        ] {
            #expect(MetadataValidation.labelKeyReason(ok) == nil, "\(ok)")
        }
        for bad in [
            "", "-app", "app-", "a b", "a/b/c", "/app", "kumo.dev/", "Kumo.dev/app", "a_b/app", "app!",
            String(repeating: "a", count: 64), String(repeating: "a", count: 254) + "/x",
        ] {
            #expect(MetadataValidation.labelKeyReason(bad) != nil, "\(bad)")
        }
        for ok in ["", "web", "v1.2", "A_b-c", String(repeating: "a", count: 63)] {
            #expect(MetadataValidation.labelValueReason(ok) == nil, "\(ok)")
        }
        for bad in ["-web", "web-", "a b", "a/b", String(repeating: "a", count: 64)] {
            #expect(MetadataValidation.labelValueReason(bad) != nil, "\(bad)")
        }
    }

    @Test func specSyntaxHelpers() {
        #expect(SpecValidation.parseIPv4("10.244.1.5") == 0x0AF4_0105)
        for bad in ["", "10.244.1", "10.244.1.256", "10.244.01.1", "a.b.c.d", "10.244.1.1.1", "10..1.1", " 10.0.0.1"] {
            #expect(!SpecValidation.isIPv4(bad), "\(bad)")
        }
        #expect(SpecValidation.cidrReason("10.244.3.0/24") == nil)
        #expect(SpecValidation.cidrReason("0.0.0.0/0") == nil)
        #expect(SpecValidation.cidrReason("10.244.3.7/32") == nil)
        for bad in ["10.244.3.1/24", "10.244.3.0", "10.244.3.0/33", "10.244.3.0/", "10.244.3.0/-1", "x/24"] {
            #expect(SpecValidation.cidrReason(bad) != nil, "\(bad)")
        }
        #expect(SpecValidation.isMAC("02:6b:00:00:00:07"))
        #expect(SpecValidation.isMAC("02:AA:bb:cc:dd:ee"))
        for bad in ["", "02:6b:00:00:00", "02:6b:00:00:00:0g", "026b00000007", "02-6b-00-00-00-07", "2:6b:00:00:00:07"]
        {
            #expect(!SpecValidation.isMAC(bad), "\(bad)")
        }
        for ok in ["", "aGVsbG8=", "aGVsbG8h", "YQ==", "+/+/"] { #expect(SpecValidation.isBase64(ok), "\(ok)") }
        for bad in ["a", "aGVsbG8", "a===", "=aaa", "aa=a", "aGVs bG8=", "aGVsbG8-"] {
            #expect(!SpecValidation.isBase64(bad), "\(bad)")
        }
        #expect(SpecValidation.isEnvName("_A1") && SpecValidation.isEnvName("path"))
        #expect(!SpecValidation.isEnvName("1A") && !SpecValidation.isEnvName("A-B") && !SpecValidation.isEnvName(""))
    }

    @Test("an agent endpoint: http(s), a host that is an IPv4 address, [IPv6] or a DNS name, a port 1-65535")
    func agentEndpoints() {
        for ok in [
            "https://192.0.2.11:7481", "http://192.0.2.11", "https://node-1.example:7481/", "http://[2001:db8::1]:80",
            "https://localhost:7481/agent",
        ] {
            #expect(NodeSpec.agentURLReason(ok) == nil, "\(ok)")
        }
        for bad in [
            "", "192.0.2.11:7481", "ftp://192.0.2.11", "https://", "https://192.0.2.11:0", "https://192.0.2.11:65536",
            "https://192.0.2.11:", "https://a b:1", "https://Host_1:1", "https://u@192.0.2.11", "https://192.0.2.11/?q",
            "https://[zz::1]:1", "https://[::1", "https://1:2:3", "https://\u{99160}",
        ] {
            #expect(NodeSpec.agentURLReason(bad) != nil, "\(bad)")
        }
    }
}
