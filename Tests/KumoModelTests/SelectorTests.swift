import KumoModel
import Testing

@Suite("Label and field selectors")
struct SelectorTests {
    // MARK: - Label syntax

    @Test func validLabelKeys() {
        for key in [
            "a", "app", "A-b_c.d", "x1", String(repeating: "k", count: 63), "kumo.dev/workload", "a/b",
            "example.com/Name_1", "a-b.c-d/e", String(repeating: "p", count: 63) + ".com/name",
        ] {
            #expect(LabelSyntax.validateKey(key) == nil, "\(key)")
        }
    }

    @Test func invalidLabelKeys() {
        let cases: [(String, String)] = [
            ("", "key must not be empty"),
            (
                "-a",
                "key name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            ),
            ("a-", "key name must consist of"),
            ("a b", "key name must consist of"),
            ("é", "key name must consist of"),
            (String(repeating: "k", count: 64), "key name must be no more than 63 characters"),
            ("/a", "key prefix must not be empty"),
            ("a/", "key name must not be empty"),
            ("a/b/c", "at most one '/'"),
            ("Example.com/a", "key prefix must be a lowercase RFC 1123 subdomain"),
            ("a..b/c", "key prefix must be a lowercase RFC 1123 subdomain"),
            ("a_b/c", "key prefix must be a lowercase RFC 1123 subdomain"),
            (String(repeating: "p", count: 64) + ".com/a", "key prefix must be a lowercase RFC 1123 subdomain"),
            (
                Array(repeating: String(repeating: "p", count: 60), count: 5).joined(separator: ".") + "/a",
                "key prefix must be no more than 253 characters"
            ),
        ]
        for (key, reason) in cases {
            let found = LabelSyntax.validateKey(key)
            #expect(found?.hasPrefix(reason) == true || found?.contains(reason) == true, "\(key): \(found ?? "nil")")
        }
    }

    @Test func labelValues() {
        for value in ["", "v", "v1.2_3-x", String(repeating: "v", count: 63), "UPPER"] {
            #expect(LabelSyntax.validateValue(value) == nil, "\(value)")
        }
        #expect(
            LabelSyntax.validateValue(String(repeating: "v", count: 64)) == "value must be no more than 63 characters")
        for value in ["-v", "v-", "a b", "a/b", "é", ".x"] {
            #expect(LabelSyntax.validateValue(value)?.hasPrefix("value must consist of") == true, "\(value)")
        }
    }

    // MARK: - Label selector parsing

    @Test func parsesEveryRequirementForm() throws {
        let s = try LabelSelector(parsing: "a=b, c==d ,e!=f,g in (x, y),h notin(z),i,!j")
        #expect(
            s.requirements == [
                .init(key: "a", op: .equals, values: ["b"]),
                .init(key: "c", op: .equals, values: ["d"]),
                .init(key: "e", op: .notEquals, values: ["f"]),
                .init(key: "g", op: .in, values: ["x", "y"]),
                .init(key: "h", op: .notIn, values: ["z"]),
                .init(key: "i", op: .exists),
                .init(key: "j", op: .doesNotExist),
            ])
        #expect(s.description == "a=b,c=d,e!=f,g in (x,y),h notin (z),i,!j")
        #expect(try LabelSelector(parsing: s.description) == s)
        #expect(!s.isEmpty)
    }

    @Test func whitespaceAndOrderDoNotMatter() throws {
        let a = try LabelSelector(parsing: "  tier   in(  web ,api ) ,app=shop\t")
        let b = try LabelSelector(parsing: "app = shop,tier in (api,web,api)")
        #expect(a == b)
        #expect(a.description == "app=shop,tier in (api,web)")
        #expect(try LabelSelector(parsing: "! a") == LabelSelector(parsing: "!a"))
    }

    @Test func emptySelectorMatchesEverything() throws {
        for text in ["", "   "] {
            let s = try LabelSelector(parsing: text)
            #expect(s.isEmpty)
            #expect(s.matches([:]))
            #expect(s.matches(["a": "b"]))
        }
        #expect(LabelSelector().isEmpty)
    }

    @Test func emptyValues() throws {
        let s = try LabelSelector(parsing: "a=,b!=")
        #expect(
            s.requirements == [
                .init(key: "a", op: .equals, values: [""]), .init(key: "b", op: .notEquals, values: [""]),
            ])
        #expect(s.matches(["a": "", "b": "x"]))
        #expect(!s.matches(["a": "x"]))
        #expect(!s.matches(["a": "", "b": ""]))
        #expect(s.description == "a=,b!=")
    }

    @Test func parseErrors() {
        let cases: [(String, String)] = [
            ("a=b,", "expected a requirement after ','"),
            (",a", "expected a label key or '!' but found ','"),
            ("a b", "expected '=', '==', '!=', 'in', 'notin', ',' or end of selector after key 'a' but found 'b'"),
            ("a in x", "expected '(' after 'in'"),
            ("a in ()", "the value set of 'in' must not be empty"),
            ("a notin (x,)", "expected a value but found ')'"),
            ("a in (x y)", "expected ',' or ')' but found 'y'"),
            ("a in (x", "expected ',' or ')' but found end of selector"),
            ("!", "expected a label key after '!'"),
            ("!a=b", "expected ',' or end of selector but found '='"),
            ("a=b=c", "expected ',' or end of selector but found '='"),
            ("a=(b)", "expected ',' or end of selector but found '('"),
            ("-a=b", "invalid key '-a': key name must consist of"),
            ("a=-b", "invalid value '-b': value must consist of"),
            ("a in (ok,b!)", "expected ',' or ')' but found '!'"),
            ("a>1", "invalid key 'a>1'"),
            (String(repeating: "k", count: 64), "must be no more than 63 characters"),
        ]
        for (text, why) in cases {
            do {
                _ = try LabelSelector(parsing: text)
                Issue.record("expected \(text.debugDescription) to fail")
            } catch {
                #expect(error.code == .badRequest)
                #expect(error.field == "labelSelector")
                #expect(error.message.hasPrefix("invalid label selector \"\(text)\": "), "\(error.message)")
                #expect(error.message.contains(why), "\(text): \(error.message)")
            }
        }
    }

    // MARK: - Label selector matching

    @Test func matching() throws {
        let labels = ["app": "web", "tier": "frontend", "kumo.dev/zone": "a"]
        let cases: [(String, Bool)] = [
            ("app=web", true), ("app==web", true), ("app=api", false), ("app!=api", true), ("app!=web", false),
            ("missing!=x", true), ("missing=x", false), ("tier in (frontend,backend)", true),
            ("tier in (backend)", false),
            ("missing in (x)", false), ("tier notin (backend)", true), ("tier notin (frontend)", false),
            ("missing notin (x)", true), ("app", true), ("missing", false), ("!missing", true), ("!app", false),
            ("kumo.dev/zone=a", true), ("app=web,tier=frontend", true), ("app=web,tier=backend", false),
            ("app=web,!kumo.dev/zone", false), ("APP=web", false),
        ]
        for (text, expected) in cases {
            #expect(try LabelSelector(parsing: text).matches(labels) == expected, "\(text)")
        }
    }

    @Test func matchLabels() throws {
        let s = LabelSelector(matchLabels: ["tier": "web", "app": "shop"])
        #expect(s.description == "app=shop,tier=web")
        #expect(s == (try LabelSelector(parsing: "tier=web,app=shop")))
        #expect(s.matches(["app": "shop", "tier": "web", "other": "x"]))
        #expect(!s.matches(["app": "shop"]))
        #expect(LabelSelector(matchLabels: [:]).isEmpty)
    }

    // MARK: - Field selectors

    static let replica = parsedJSON(
        """
        {"metadata": {"name": "web-1", "project": "shop", "labels": {"app": "web"}},
         "spec": {"nodeName": "n1", "replicas": 3, "ratio": 0.5, "paused": false, "ports": [80]},
         "status": {"phase": "Running", "ip": null}}
        """)

    @Test func fieldSelectorParsing() throws {
        let s = try FieldSelector(parsing: " spec.nodeName = n1 ,status.phase!=Running,metadata.name==x")
        #expect(
            s.requirements == [
                .init(field: "spec.nodeName", op: .equals, value: "n1"),
                .init(field: "status.phase", op: .notEquals, value: "Running"),
                .init(field: "metadata.name", op: .equals, value: "x"),
            ])
        #expect(s.description == "spec.nodeName=n1,status.phase!=Running,metadata.name=x")
        #expect(try FieldSelector(parsing: s.description) == s)
        #expect(try FieldSelector(parsing: "").isEmpty)
        #expect(try FieldSelector(parsing: "a=").requirements == [.init(field: "a", op: .equals, value: "")])
        // Escapes in values.
        let escaped = try FieldSelector(parsing: #"metadata.name=a\,b\=c\\d,spec.x!=y"#)
        #expect(escaped.requirements.first?.value == #"a,b=c\d"#)
        #expect(escaped.requirements.count == 2)
        #expect(try FieldSelector(parsing: escaped.description) == escaped)
    }

    @Test func fieldSelectorMatching() throws {
        let cases: [(String, Bool)] = [
            ("spec.nodeName=n1", true), ("spec.nodeName==n1", true), ("spec.nodeName=n2", false),
            ("spec.nodeName!=n2", true), ("status.phase!=Running", false), ("metadata.name=web-1", true),
            ("spec.replicas=3", true), ("spec.replicas=3.0", false), ("spec.ratio=0.5", true),
            ("spec.paused=false", true), ("spec.paused!=true", true), ("status.ip=", true), ("spec.missing=", true),
            ("spec.missing!=", false), ("spec.nodeName=", false), ("no.such.path=", true), ("spec.ports=[80]", true),
            ("metadata.labels.app=web", true), ("spec.nodeName=n1,status.phase=Running", true),
            ("spec.nodeName=n1,status.phase=Pending", false), ("", true),
        ]
        for (text, expected) in cases {
            #expect(try FieldSelector(parsing: text).matches(Self.replica) == expected, "\(text)")
        }
    }

    @Test func fieldSelectorErrors() {
        let cases: [(String, String)] = [
            ("spec.nodeName", "requirement \"spec.nodeName\" has no operator"),
            ("a=b,", "empty requirement"),
            ("a=b,,c=d", "empty requirement"),
            ("=x", "invalid field path \"\": must not be empty"),
            ("spec..x=1", "must be dot-separated non-empty names"),
            (".spec=1", "must be dot-separated non-empty names"),
            ("sp ec=1", "must not contain whitespace"),
            ("a=b=c", "unescaped '=' in value"),
            (#"a=b\x"#, "invalid escape in value"),
            (#"a=b\"#, "invalid escape in value"),
        ]
        for (text, why) in cases {
            do {
                _ = try FieldSelector(parsing: text)
                Issue.record("expected \(text.debugDescription) to fail")
            } catch {
                #expect(error.code == .badRequest)
                #expect(error.field == "fieldSelector")
                #expect(error.message.hasPrefix("invalid field selector \"\(text)\": "), "\(error.message)")
                #expect(error.message.contains(why), "\(text): \(error.message)")
            }
        }
    }

    @Test func stringForms() {
        #expect(FieldSelector.stringForm(nil) == "")
        #expect(FieldSelector.stringForm(.null) == "")
        #expect(FieldSelector.stringForm("x") == "x")
        #expect(FieldSelector.stringForm(3) == "3")
        #expect(FieldSelector.stringForm(2.5) == "2.5")
        #expect(FieldSelector.stringForm(true) == "true")
        #expect(FieldSelector.stringForm(["b": 1, "a": [nil]]) == #"{"a":[null],"b":1}"#)
    }
}
