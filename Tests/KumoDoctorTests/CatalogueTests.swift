import KumoDoctor
import Testing

@Suite("doctor: the catalogue of codes")
struct CatalogueTests {
    @Test("every code is SCREAMING_SNAKE, unique, with a runbook that says what it means and what to do")
    func codes() {
        var seen: Set<String> = []
        for d in Doctor.definitions {
            #expect(seen.insert(d.code).inserted, "duplicate code \(d.code)")
            #expect(d.code.allSatisfy { $0.isUppercase || $0 == "_" || $0.isNumber }, "\(d.code)")
            #expect(!d.runbook.meaning.isEmpty && !d.runbook.actions.isEmpty, "\(d.code) has no runbook")
        }
    }
}
