import ClusterCore
import Testing
@testable import NodeAgent

@Suite struct ConfigYAMLTests {
    @Test func buildsNodesWithMarksInSourceOrder() throws {
        let text = """
        name: demo
        agents:
          writer:
            tools: [a, b]
        """
        let root = try #require(try YAMLParser.parse(text, file: "t.yml"))
        let entries = try #require(root.entries)
        #expect(entries.map(\.key) == ["name", "agents"])
        #expect(entries[0].keyMark == Mark(line: 1, column: 1))
        #expect(entries[0].value.mark == Mark(line: 1, column: 7))
        let writer = try #require(root["agents"]?["writer"])
        #expect(writer.mark == Mark(line: 4, column: 5))
        let tools = try #require(writer["tools"]?.sequence)
        #expect(tools.map(\.mark) == [Mark(line: 4, column: 13), Mark(line: 4, column: 16)])
    }

    @Test func resolvesScalarsByTheCoreSchema() throws {
        let text = """
        a: null
        b: ~
        c:
        d: true
        e: False
        f: 12
        g: -3
        h: 0x1F
        i: 0o17
        j: 1.5
        k: .5
        l: 1e3
        m: "12"
        n: '12'
        o: yes
        p: !!str 12
        q: |
          line
        r: 12abc
        """
        let json = try #require(try YAMLParser.parse(text)).toJSON()
        let expected: JSONValue = [
            "a": nil, "b": nil, "c": nil, "d": true, "e": false, "f": 12, "g": -3, "h": 31, "i": 15,
            "j": 1.5, "k": 0.5, "l": 1000, "m": "12", "n": "12", "o": "yes", "p": "12", "q": "line\n", "r": "12abc",
        ]
        #expect(json == expected)
    }

    @Test func resolvesAnchorsAliasesAndMergeKeys() throws {
        let text = """
        base: &base
          handler: echo
          replicas: 2
        list: &l [1, 2]
        other:
          <<: *base
          replicas: 3
        copy: *l
        """
        let json = try #require(try YAMLParser.parse(text)).toJSON()
        #expect(json["other"] == ["handler": "echo", "replicas": 3])
        #expect(json["copy"] == [1, 2])
    }

    @Test func rejectsDuplicateKeysWithBothPositions() {
        let text = """
        name: a
        node:
          id: x
          id: y
        """
        #expect(throws: YAMLError(file: "f.yml", mark: Mark(line: 4, column: 3), problem: "duplicate key 'id' (first at 3:3)")) {
            try YAMLParser.parse(text, file: "f.yml")
        }
    }

    @Test func reportsLibyamlSyntaxErrorsAtFileLineColumn() throws {
        let text = """
        name: a
        agents:
          writer: [unclosed
        other: 1
        """
        do {
            _ = try YAMLParser.parse(text, file: "bad.yml")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.file == "bad.yml")
            #expect(error.mark.line == 4)
            #expect(error.description.hasPrefix("bad.yml:4:"))
            #expect(error.problem.contains("did not find expected"))
        }
    }

    @Test func rejectsUnknownAliasesAndSeveralDocuments() {
        #expect(throws: YAMLError(mark: Mark(line: 1, column: 4), problem: "unknown alias '*nope'")) {
            try YAMLParser.parse("a: *nope")
        }
        #expect(throws: YAMLError(mark: Mark(line: 2, column: 1), problem: "only one YAML document is allowed in a config file")) {
            try YAMLParser.parse("a: 1\n---\nb: 2\n")
        }
    }

    @Test func boundsAliasExpansion() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...7 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(throws: YAMLError.self) { try YAMLParser.parse(text) }
    }

    @Test func emptyDocumentIsNil() throws {
        #expect(try YAMLParser.parse("") == nil)
        #expect(try YAMLParser.parse("# only a comment\n") == nil)
    }

    @Test func rejectsNonFiniteNumbersAndMismatchedTags() {
        #expect(throws: YAMLError.self) { try YAMLParser.parse("a: .inf")?.toJSON() }
        #expect(throws: YAMLError.self) { try YAMLParser.parse("a: !!int abc")?.toJSON() }
    }
}

@Suite struct ConfigYAMLRobustnessTests {
    @Test func malformedInputGivesErrorsNotCrashes() {
        let inputs = [
            "\t- a", "a: [1, 2", "a: {b: ", "- a\nb: c", "key: \"unterminated", "? [a, b]\n: c", "a: b: c",
            "\u{0}\u{1}\u{2}", "&a [*a]", "a: !!binary aGk=", "%YAML 9.9\n---\na: 1", "[1, 2]", "'just a string'",
            String(repeating: "[", count: 5000),
            String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ]
        for text in inputs {
            do {
                _ = try NodeConfig.parse(text)
                Issue.record("expected an error for \(text.prefix(20).debugDescription)")
            } catch {
                #expect(!error.issues.isEmpty)
                #expect(error.issues.allSatisfy { $0.mark.line >= 1 && $0.mark.column >= 1 })
            }
        }
    }

    @Test func syntaxErrorCarriesLibyamlWords() {
        do {
            _ = try NodeConfig.parse("a: 1\nb: [1, 2\nc: 3\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.description.contains("did not find expected ',' or ']'"))
            #expect(error.description.contains("while parsing a flow sequence at 2:4"))
        }
    }
}
