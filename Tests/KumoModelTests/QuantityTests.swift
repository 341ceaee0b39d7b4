import Testing

@testable import KumoModel

@Suite struct CPUQuantityTests {
    @Test(
        arguments: [
            ("500m", 500), ("2", 2000), ("0.5", 500), ("1.5", 1500), ("0", 0), ("0m", 0), ("0.001", 1),
            ("1.000", 1000), ("2.250", 2250), ("007", 7000), ("64", 64000), ("1000000m", 1_000_000),
        ] as [(String, Int64)])
    func parsesValidStrings(text: String, millicores: Int64) throws {
        #expect(try CPUQuantity(parsing: text).millicores == millicores)
    }

    @Test(arguments: [
        "", "5x", "-1", "-500m", "0.0005", "1.5m", "m", "1e3", " 2", "2 ", "+2", ".5", "1.", "1,5",
        "500 m", "0x10", "1Ki", "99999999999999999999", "9223372036854775807", "9223372036854775808m",
    ])
    func rejectsInvalidStrings(text: String) {
        #expect(throws: KumoError.self) { try CPUQuantity(parsing: text) }
    }

    @Test func errorsNameTheProblem() {
        func message(_ text: String) -> String {
            do {
                _ = try CPUQuantity(parsing: text)
                return ""
            } catch {
                #expect(error.code == .invalid)
                return error.message
            }
        }
        #expect(message("5x") == #"invalid cpu quantity "5x": expected millicores like 500m or cores like 2"#)
        #expect(message("-1") == #"invalid cpu quantity "-1": must not be negative"#)
        #expect(message("") == #"invalid cpu quantity "": must not be empty"#)
        #expect(message("0.0005") == #"invalid cpu quantity "0.0005": finer than one millicore"#)
        #expect(message("99999999999999999999").hasSuffix("too large"))
    }

    @Test func decodesNumbersOfCores() throws {
        #expect(try decode(2, as: CPUQuantity.self).millicores == 2000)
        #expect(try decode(0.5, as: CPUQuantity.self).millicores == 500)
        #expect(try decode(0.25, as: CPUQuantity.self).millicores == 250)
        #expect(throws: KumoError.self) { try decode(-1, as: CPUQuantity.self) }
        #expect(throws: KumoError.self) { try decode(0.0001, as: CPUQuantity.self) }
        #expect(throws: KumoError.self) { try decode(true, as: CPUQuantity.self) }
        #expect(throws: KumoError.self) { try decode(1e30, as: CPUQuantity.self) }
    }

    @Test func encodesCanonically() throws {
        #expect(encode(CPUQuantity(millicores: 500)) == "500m")
        #expect(encode(CPUQuantity(millicores: 2000)) == "2")
        #expect(encode(CPUQuantity(millicores: 1500)) == "1500m")
        #expect(encode(CPUQuantity(millicores: 0)) == "0")
        #expect(encode(try decode(0.5, as: CPUQuantity.self)) == "500m")
        #expect(encode(try CPUQuantity(parsing: "2.0")) == "2")
    }

    @Test(arguments: ["500m", "2", "0.5", "1.5", "0", "3.25", "64"])
    func roundTripsThroughCanonicalForm(text: String) throws {
        let q = try CPUQuantity(parsing: text)
        let encoded = encode(q)
        #expect(try decode(encoded, as: CPUQuantity.self) == q)
        #expect(try CPUQuantity(parsing: q.description) == q)
    }

    @Test func comparesAndAdds() throws {
        #expect(try CPUQuantity(parsing: "1") == CPUQuantity(parsing: "1000m"))
        #expect(try CPUQuantity(parsing: "500m") < CPUQuantity(parsing: "1"))
        #expect(Set([CPUQuantity.cores(1), .millicores(1000)]).count == 1)
        #expect(CPUQuantity.millicores(250) + .millicores(750) == .cores(1))
        #expect(CPUQuantity.cores(2) - .millicores(500) == .millicores(1500))
        #expect(CPUQuantity.millicores(1500).cores == 1.5)
    }
}

@Suite struct MemoryQuantityTests {
    @Test(
        arguments: [
            ("256Mi", 268_435_456), ("1Gi", 1_073_741_824), ("1G", 1_000_000_000), ("500M", 500_000_000),
            ("1024", 1024), ("128Ki", 131_072), ("1k", 1000), ("1K", 1000), ("2Ti", 2_199_023_255_552),
            ("1Pi", 1_125_899_906_842_624), ("3T", 3_000_000_000_000), ("1P", 1_000_000_000_000_000), ("0", 0),
            ("1.5Gi", 1_610_612_736), ("0.5Ki", 512), ("2.5k", 2500), ("1.0", 1),
        ] as [(String, Int64)])
    func parsesValidStrings(text: String, bytes: Int64) throws {
        #expect(try MemoryQuantity(parsing: text).bytes == bytes)
    }

    @Test(arguments: [
        "", "5x", "-1", "-1Gi", "1.5", "0.1Ki", "Ki", "Gi", "1Zi", "1E", "1i", "1gi", "1mi", "1m",
        "1 Gi", "1e6", "+1", "99999Pi", "10000P", "1.Gi", "99999999999999999999",
    ])
    func rejectsInvalidStrings(text: String) {
        #expect(throws: KumoError.self) { try MemoryQuantity(parsing: text) }
    }

    @Test func errorsNameTheProblem() {
        func message(_ text: String) -> String {
            do {
                _ = try MemoryQuantity(parsing: text)
                return ""
            } catch {
                return error.message
            }
        }
        #expect(message("5x").hasPrefix(#"invalid memory quantity "5x": expected bytes like 1024"#))
        #expect(message("-1Gi") == #"invalid memory quantity "-1Gi": must not be negative"#)
        #expect(message("1.5") == #"invalid memory quantity "1.5": not a whole number of bytes"#)
        #expect(message("99999Pi") == #"invalid memory quantity "99999Pi": too large"#)
    }

    @Test func decodesNumbersOfBytes() throws {
        #expect(try decode(1024, as: MemoryQuantity.self).bytes == 1024)
        #expect(throws: KumoError.self) { try decode(1.5, as: MemoryQuantity.self) }
        #expect(throws: KumoError.self) { try decode(-1, as: MemoryQuantity.self) }
        #expect(throws: KumoError.self) { try decode(1e300, as: MemoryQuantity.self) }
        #expect(throws: KumoError.self) { try decode([1], as: MemoryQuantity.self) }
    }

    @Test(
        arguments: [
            (268_435_456, "256Mi"), (1_000_000_000, "1G"), (1000, "1k"), (1500, "1500"), (1024, "1Ki"), (0, "0"),
            (1536, "1536"), (3_221_225_472, "3Gi"), (1_048_576_000, "1000Mi"), (500_000_000, "500M"), (1, "1"),
            (1_125_899_906_842_624, "1Pi"), (2_000_000_000_000, "2T"), (1_000_000_000_000, "1T"), (4_096_000, "4096k"),
            (4_194_304_000, "4000Mi"),
            (1_000_000_000_000_000, "1P"), (5 * 1_099_511_627_776, "5Ti"),
        ] as [(Int64, String)])
    func encodesCanonically(bytes: Int64, text: String) throws {
        let q = MemoryQuantity(bytes: bytes)
        #expect(q.description == text)
        #expect(encode(q) == .string(text))
        #expect(try MemoryQuantity(parsing: text) == q)
    }

    @Test func canonicalizesEquivalentSpellings() throws {
        #expect(encode(try MemoryQuantity(parsing: "1024Mi")) == "1Gi")
        #expect(encode(try MemoryQuantity(parsing: "1048576")) == "1Mi")
        #expect(encode(try MemoryQuantity(parsing: "1000K")) == "1M")
        #expect(encode(try decode(1024, as: MemoryQuantity.self)) == "1Ki")
    }

    @Test func comparesAndAdds() throws {
        #expect(try MemoryQuantity(parsing: "1Gi") > MemoryQuantity(parsing: "1G"))
        #expect(MemoryQuantity.mebibytes(512) + .mebibytes(512) == .gibibytes(1))
        #expect(MemoryQuantity.gibibytes(1) - .mebibytes(1024) == .zero)
        #expect(MemoryQuantity.kibibytes(1) == .bytes(1024))
    }
}

@Suite struct IntOrPercentTests {
    @Test func resolvesPercentagesWithRounding() {
        let p = IntOrPercent.percent(25)
        #expect(p.resolve(total: 10, roundUp: true) == 3)
        #expect(p.resolve(total: 10, roundUp: false) == 2)
        #expect(p.resolve(total: 4, roundUp: true) == 1)
        #expect(p.resolve(total: 4, roundUp: false) == 1)
        #expect(p.resolve(total: 1, roundUp: true) == 1)
        #expect(p.resolve(total: 1, roundUp: false) == 0)
        #expect(p.resolve(total: 0, roundUp: true) == 0)
        #expect(IntOrPercent.percent(100).resolve(total: 7, roundUp: false) == 7)
        #expect(IntOrPercent.int(3).resolve(total: 10, roundUp: true) == 3)
        #expect(IntOrPercent.int(3).resolve(total: 10, roundUp: false) == 3)
    }

    @Test func decodesIntegersAndPercentages() throws {
        #expect(try decode(3, as: IntOrPercent.self) == .int(3))
        #expect(try decode("25%", as: IntOrPercent.self) == .percent(25))
        #expect(try decode("0%", as: IntOrPercent.self) == .percent(0))
        for bad: JSONValue in ["25", "abc%", "%", "-5%", "2.5%", -1, 1.5, true, [1]] {
            #expect(throws: KumoError.self, "\(bad)") { try decode(bad, as: IntOrPercent.self) }
        }
    }

    @Test func encodesAsIntegerOrPercentString() throws {
        #expect(encode(IntOrPercent.int(3)) == 3)
        #expect(encode(IntOrPercent.percent(25)) == "25%")
        #expect(IntOrPercent.percent(25).description == "25%")
        #expect(try IntOrPercent(parsing: "30%") == .percent(30))
        #expect(try IntOrPercent(parsing: "4") == .int(4))
    }

    @Test func rolloutStrategyDefaultsAndNeverBothZero() {
        let defaults = RolloutStrategy()
        #expect(defaults.resolve(replicas: 10) == (3, 2))
        #expect(RolloutStrategy(maxSurge: .int(0), maxUnavailable: .percent(25)).resolve(replicas: 0) == (0, 1))
        #expect(RolloutStrategy(maxSurge: .int(2), maxUnavailable: .int(0)).resolve(replicas: 5) == (2, 0))
    }
}
