import Foundation
import Testing
@testable import ClusterCore

private func schema(_ text: String) throws -> JSONSchema { try JSONSchema(json: text) }
private func value(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }
private func paths(_ v: [SchemaViolation]) -> [String] { v.map(\.path) }

/// Asserts that compiling `text` fails with a SchemaError at `path`.
private func expectSchemaError(_ text: String, at path: String, containing words: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try JSONSchema(json: text)
        Issue.record("schema \(text) compiled; expected an error at \(path)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.path == path, sourceLocation: sourceLocation)
        #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
        #expect(error.description.contains(path), sourceLocation: sourceLocation)
    }
}

@Suite struct ContractSchemaTests {
    @Test func typeSingle() throws {
        let s = try schema(#"{"type": "string"}"#)
        #expect(s.validate("hi").isEmpty)
        let v = s.validate(.number(3.5))
        #expect(v == [SchemaViolation(path: "$", message: "expected string, got number")])
        #expect(s.validate(.number(3)).first?.message == "expected string, got integer")
        #expect(!s.accepts(.null))
        #expect(!s.accepts(.bool(true)))
        #expect(!s.accepts(["a"]))
        #expect(!s.accepts(["a": 1]))
    }

    @Test func integerIsDistinctFromNumber() throws {
        let int = try schema(#"{"type": "integer"}"#)
        let num = try schema(#"{"type": "number"}"#)
        #expect(int.accepts(2))
        #expect(int.accepts(.number(2.0)))
        #expect(int.accepts(-7))
        #expect(int.validate(.number(1.5)) == [SchemaViolation(path: "$", message: "expected integer, got number")])
        #expect(num.accepts(2))
        #expect(num.accepts(.number(1.5)))
        #expect(!num.accepts("1"))
    }

    @Test func typeArray() throws {
        let s = try schema(#"{"type": ["string", "null"]}"#)
        #expect(s.accepts("x"))
        #expect(s.accepts(.null))
        #expect(s.validate(1).first?.message == "expected string or null, got integer")
        let b = try schema(#"{"type": ["boolean", "array", "object"]}"#)
        #expect(b.accepts(true) && b.accepts([]) && b.accepts([:]))
        #expect(!b.accepts(.number(0.5)))
    }

    @Test func propertiesAndRequiredWithNestedPaths() throws {
        let s = try schema("""
        {"type": "object", "required": ["user"],
         "properties": {"user": {"type": "object", "required": ["name", "age"],
                                 "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}}}
        """)
        #expect(s.accepts(try value(#"{"user": {"name": "ada", "age": 36}}"#)))
        #expect(s.validate([:]) == [SchemaViolation(path: "$.user", message: "required property is missing")])
        let v = s.validate(try value(#"{"user": {"age": "old"}}"#))
        #expect(Set(paths(v)) == ["$.user.name", "$.user.age"])
        #expect(v.contains(SchemaViolation(path: "$.user.age", message: "expected integer, got string")))
        // Properties not mentioned are allowed by default.
        #expect(s.accepts(try value(#"{"user": {"name": "a", "age": 1, "extra": true}}"#)))
        // `properties` constrains only objects; another type passes unless `type` says otherwise.
        let loose = try schema(#"{"properties": {"a": {"type": "string"}}, "required": ["a"]}"#)
        #expect(loose.accepts(5))
    }

    @Test func itemsReportIndexedPaths() throws {
        let s = try schema("""
        {"type": "object", "properties": {"items": {"type": "array",
          "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}
        """)
        let v = s.validate(try value(#"{"items": [{"name": "a"}, {"name": "b"}, {"name": 3}, {}]}"#))
        #expect(v == [
            SchemaViolation(path: "$.items[2].name", message: "expected string, got integer"),
            SchemaViolation(path: "$.items[3].name", message: "required property is missing"),
        ])
        let nested = try schema(#"{"items": {"items": {"type": "integer"}}}"#)
        #expect(paths(nested.validate(try value("[[1, 2], [3, \"x\"]]"))) == ["$[1][1]"])
    }

    @Test func minItemsMaxItems() throws {
        let s = try schema(#"{"type": "array", "minItems": 1, "maxItems": 2}"#)
        #expect(s.accepts([1]) && s.accepts([1, 2]))
        #expect(s.validate([]).first?.message.contains("minItems 1") == true)
        #expect(s.validate([1, 2, 3]).first?.message.contains("maxItems 2") == true)
    }

    @Test func enumAndConst() throws {
        let s = try schema(#"{"enum": ["red", "green", 3, null, {"a": [1]}]}"#)
        #expect(s.accepts("red") && s.accepts(3) && s.accepts(.number(3.0)) && s.accepts(.null))
        #expect(s.accepts(try value(#"{"a": [1]}"#)))
        #expect(!s.accepts("blue"))
        #expect(!s.accepts(try value(#"{"a": [2]}"#)))
        #expect(s.validate("blue").first?.message == #""blue" is not one of ["red", "green", 3, null, {"a":[1]}]"#)
        let c = try schema(#"{"const": "x"}"#)
        #expect(c.accepts("x"))
        #expect(c.validate("y") == [SchemaViolation(path: "$", message: #"expected "x", got "y""#)])
    }

    @Test func minimumMaximumAndExclusive() throws {
        let s = try schema(#"{"type": "number", "minimum": 1, "maximum": 10}"#)
        #expect(s.accepts(1) && s.accepts(10) && s.accepts(.number(5.5)))
        #expect(s.validate(0) == [SchemaViolation(path: "$", message: "0 is less than minimum 1")])
        #expect(s.validate(.number(10.5)) == [SchemaViolation(path: "$", message: "10.5 is greater than maximum 10")])
        let e = try schema(#"{"exclusiveMinimum": 0, "exclusiveMaximum": 1}"#)
        #expect(e.accepts(.number(0.5)))
        #expect(!e.accepts(0))
        #expect(!e.accepts(1))
        #expect(e.validate(1).first?.message.contains("exclusiveMaximum 1") == true)
        // Bounds apply to numbers only.
        #expect(s.validate("5") == [SchemaViolation(path: "$", message: "expected number, got string")])
    }

    @Test func lengthsCountUnicodeCharacters() throws {
        let s = try schema(#"{"type": "string", "minLength": 2, "maxLength": 3}"#)
        #expect(s.accepts("ab") && s.accepts("abc"))
        #expect(s.accepts("🙂🙂"))          // 2 characters, 4 UTF-16 units, 8 bytes
        #expect(s.accepts("日本語"))         // 3 characters, 9 bytes
        #expect(!s.accepts("🙂"))
        #expect(!s.accepts("🙂🙂🙂🙂"))
        #expect(s.validate("a") == [SchemaViolation(path: "$", message: "string of 1 characters is shorter than minLength 2")])
        #expect(s.validate("abcd").first?.message == "string of 4 characters is longer than maxLength 3")
    }

    @Test func patternIsUnanchoredUnlessAnchored() throws {
        let s = try schema(#"{"type": "string", "pattern": "[0-9]+"}"#)
        #expect(s.accepts("abc123"))
        #expect(s.validate("abc") == [SchemaViolation(path: "$", message: #"string does not match pattern "[0-9]+""#)])
        let anchored = try schema(#"{"pattern": "^[a-z]+$"}"#)
        #expect(anchored.accepts("abc"))
        #expect(!anchored.accepts("abc1"))
        #expect(anchored.accepts(5))  // pattern constrains strings only
        let unicode = try schema(#"{"pattern": "^é+$"}"#)
        #expect(unicode.accepts("ééé"))
    }

    @Test func additionalPropertiesFalseAndSchema() throws {
        let closed = try schema(#"{"properties": {"a": {}}, "additionalProperties": false}"#)
        #expect(closed.accepts(["a": 1]))
        #expect(closed.validate(["a": 1, "b": 2, "c d": 3]) == [
            SchemaViolation(path: "$.b", message: "property is not allowed (additionalProperties is false)"),
            SchemaViolation(path: "$[\"c d\"]", message: "property is not allowed (additionalProperties is false)"),
        ])
        let typed = try schema(#"{"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}"#)
        #expect(typed.accepts(["a": "x", "n": 1, "m": 2]))
        #expect(typed.validate(["a": "x", "n": "one"]) == [SchemaViolation(path: "$.n", message: "expected integer, got string")])
        let open = try schema(#"{"additionalProperties": true}"#)
        #expect(open.accepts(["anything": 1]))
    }

    @Test func reportsEveryViolationNotJustTheFirst() throws {
        let s = try schema("""
        {"type": "object", "required": ["id", "tags"], "additionalProperties": false,
         "properties": {"id": {"type": "string", "minLength": 3, "pattern": "^[a-z]+$"},
                        "count": {"type": "integer", "minimum": 0},
                        "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}}
        """)
        let v = s.validate(try value(#"{"id": "X", "count": -1.5, "tags": ["a", "z", "q"], "more": 1}"#))
        #expect(Set(paths(v)) == ["$.id", "$.count", "$.tags[1]", "$.tags[2]", "$.more"])
        #expect(v.filter { $0.path == "$.id" }.count == 2)      // too short and wrong pattern
        #expect(v.filter { $0.path == "$.count" }.count == 2)   // not an integer and below minimum
        #expect(v.count == 7)
    }

    @Test func booleanSchemas() throws {
        let yes = try JSONSchema(true)
        let no = try JSONSchema(false)
        #expect(yes.accepts(["x": [1, 2]]))
        #expect(no.validate(1) == [SchemaViolation(path: "$", message: "no value is allowed here (schema is false)")])
        let s = try schema(#"{"properties": {"secret": false}}"#)
        #expect(paths(s.validate(["secret": 1])) == ["$.secret"])
        let empty = try schema("{}")
        #expect(empty.accepts(.null) && empty.accepts("s"))
    }

    @Test func annotationsAreIgnored() throws {
        let s = try schema(#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T", "description": "d", "default": 1, "format": "email", "type": "string"}"#)
        #expect(s.accepts("not an email"))
    }

    @Test func malformedSchemasNameTheirPath() {
        expectSchemaError(#"{"type": "text"}"#, at: "$.type", containing: "unknown type \"text\"")
        expectSchemaError(#"{"properties": {"a": {"type": "strng"}}}"#, at: "$.properties.a.type", containing: "strng")
        expectSchemaError(#"{"type": ["string", 5]}"#, at: "$.type[1]", containing: "must be a string")
        expectSchemaError(#"{"type": []}"#, at: "$.type", containing: "must not be empty")
        expectSchemaError(#"{"type": 3}"#, at: "$.type", containing: "string or an array")
        expectSchemaError(#"{"minLength": 1.5}"#, at: "$.minLength", containing: "non-negative integer")
        expectSchemaError(#"{"maxLength": -1}"#, at: "$.maxLength", containing: "non-negative integer")
        expectSchemaError(#"{"minLength": "3"}"#, at: "$.minLength", containing: "non-negative integer")
        expectSchemaError(#"{"minimum": "0"}"#, at: "$.minimum", containing: "must be a number")
        expectSchemaError(#"{"exclusiveMaximum": true}"#, at: "$.exclusiveMaximum", containing: "must be a number")
        expectSchemaError(#"{"items": {"pattern": "([a-z"}}"#, at: "$.items.pattern", containing: "not a valid regular expression")
        expectSchemaError(#"{"pattern": 7}"#, at: "$.pattern", containing: "must be a string")
        expectSchemaError(#"{"properties": []}"#, at: "$.properties", containing: "must be an object")
        expectSchemaError(#"{"properties": {"a b": 3}}"#, at: "$.properties[\"a b\"]", containing: "object or a boolean")
        expectSchemaError(#"{"required": "name"}"#, at: "$.required", containing: "array of strings")
        expectSchemaError(#"{"required": ["a", 1]}"#, at: "$.required[1]", containing: "must be a string")
        expectSchemaError(#"{"enum": []}"#, at: "$.enum", containing: "must not be empty")
        expectSchemaError(#"{"enum": "a"}"#, at: "$.enum", containing: "must be an array")
        expectSchemaError(#"{"items": [{}]}"#, at: "$.items", containing: "tuple form")
        expectSchemaError(#"{"additionalProperties": 1}"#, at: "$.additionalProperties", containing: "object or a boolean")
        expectSchemaError(#"{"properties": {"a": {"anyOf": []}}}"#, at: "$.properties.a.anyOf", containing: "not supported")
        expectSchemaError(##"{"$ref": "#/x"}"##, at: "$.$ref", containing: "not supported")
        expectSchemaError(#""string""#, at: "$", containing: "object or a boolean")
        expectSchemaError("{not json", at: "$", containing: "not valid JSON")
    }

    @Test func codableAsItsSourceAndEqualBySource() throws {
        let s = try schema(#"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}"#)
        let data = try JSONEncoder().encode(s)
        #expect(try JSONValue.parse(data) == s.source)
        let back = try JSONDecoder().decode(JSONSchema.self, from: data)
        #expect(back == s)
        #expect(back.hashValue == s.hashValue)
        #expect(back.validate(["n": 0]).map(\.path) == ["$.n"])
        #expect(try schema(#"{"type": "string"}"#) != s)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JSONSchema.self, from: Data(#"{"type": "nope"}"#.utf8)) }
    }

    @Test func sharedAcrossTasks() async throws {
        let s = try schema(#"{"type": "array", "items": {"type": "string", "pattern": "^a"}}"#)
        let counts = await withTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask { s.validate(.array((0..<100).map { .string($0 % 2 == 0 ? "a\(i)" : "b") })).count }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 50, count: 8))
    }
}
