import XCTest
import JSON

final class JSONParserTests: XCTestCase {
    func testParsesKeepingKeyOrderAndNumberKinds() throws {
        let value = try JSONParser.parse(#" {"z": 1, "a": [true, null, 2.5, -3, -3e2, "x\"\u00e9\ud83d\ude00"], "m": {}} "#)
        XCTAssertEqual(value.members?.map(\.key), ["z", "a", "m"])
        XCTAssertEqual(value["z"], .int(1))
        XCTAssertEqual(value["a"], .array([.bool(true), .null, .double(2.5), .int(-3), .double(-300), .string("x\"é😀")]))
        XCTAssertEqual(value["m"], .object([]))
    }

    func testNumbers() throws {
        XCTAssertEqual(try JSONParser.parse("123456789012345678"), .int(123_456_789_012_345_678))
        XCTAssertEqual(try JSONParser.parse("-9223372036854775808"), .int(.min))
        XCTAssertEqual(try JSONParser.parse("18446744073709551616"), .double(18_446_744_073_709_551_616))
        XCTAssertEqual(try JSONParser.parse("4.0").int, 4, "integral numbers read as integers")
        XCTAssertNil(try JSONParser.parse("4.5").int)
        XCTAssertEqual(try JSONParser.parse("7").double, 7)
    }

    func testRejectsMalformedInput() {
        for text in ["{", "[1,]", "{\"a\" 1}", "01x", "01", "-01", "1.", "1e", "1e+", ".5", "+1", "\"\u{01}\"", "tru", "{} {}", "NaN", "1e999", "\"\\q\"", "", "-", "\"abc"] {
            XCTAssertThrowsError(try JSONParser.parse(text), text)
        }
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22]), "invalid UTF-8 after an escape")
    }

    func testErrorsNameTheByteOffset() {
        XCTAssertThrowsError(try JSONParser.parse(#"{"a": [1, 2,, 3]}"#)) { error in
            XCTAssertEqual((error as? JSONParseError)?.offset, 12, "\(error)")
        }
    }

    func testLoneSurrogatesBecomeReplacementCharacters() throws {
        XCTAssertEqual(try JSONParser.parse(#""\ud800x\udc00""#), .string("\u{FFFD}x\u{FFFD}"))
        XCTAssertEqual(try JSONParser.parse(#""\ud83d\u0041""#), .string("\u{FFFD}"), "high surrogate then a non-surrogate")
    }

    func testByteOrderMarkIsIgnored() throws {
        XCTAssertEqual(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8))["a"], .int(1))
    }

    func testDepthIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { error in
            XCTAssertTrue("\(error)".contains("nesting"))
        }
        XCTAssertNoThrow(try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
        XCTAssertThrowsError(try JSONParser.parse("[[[1]]]", maxDepth: 2))
    }

    func testRepeatedKeyKeepsFirstPositionAndLastValue() throws {
        let small = try JSONParser.parse(#"{"a": 1, "b": 2, "a": 3}"#)
        XCTAssertEqual(small, .object([("a", 3), ("b", 2)]))
        // Past the scan limit the parser switches to an index; the rule must not change.
        var text = "{"
        for i in 0..<40 { text += "\"k\(i)\": \(i), " }
        text += #""k3": "late", "k39": null}"#
        let large = try JSONParser.parse(text)
        XCTAssertEqual(large.members?.count, 40)
        XCTAssertEqual(large.members?[3].key, "k3")
        XCTAssertEqual(large["k3"], "late")
        XCTAssertEqual(large["k39"], .null)
    }

    func testCanonicallyEquivalentKeysStayDistinct() throws {
        // U+03AC and U+1F71 are canonically equivalent, so Swift's String == calls them equal; a
        // vocabulary holds both as different tokens. Checked below and past the index threshold.
        for filler in [0, 30] {
            var text = "{"
            for i in 0..<filler { text += "\"f\(i)\": 0, " }
            text += "\"\u{03AC}\": 1, \"\u{1F71}\": 2}"
            let value = try JSONParser.parse(text)
            XCTAssertEqual(value.members?.count, filler + 2)
            XCTAssertEqual(value["\u{03AC}"], .int(1))
            XCTAssertEqual(value["\u{1F71}"], .int(2))
        }
    }

    func testWriterEscapesAndRoundTrips() throws {
        let value: JSONValue = .object([("b", "line\nbreak \"q\" \u{01}"), ("a", .array([1, 2.5, -0.25, .null, true]))])
        let text = JSONWriter.string(value)
        XCTAssertEqual(text, #"{"b":"line\nbreak \"q\" \u0001","a":[1,2.5,-0.25,null,true]}"#)
        XCTAssertEqual(try JSONParser.parse(text), value)
        XCTAssertEqual(JSONWriter.string(.double(-.infinity)), "-9999.0")
        XCTAssertEqual(JSONValue.array([1, "x"]).description, #"[1,"x"]"#)
    }

    func testWriterEnsureASCIIEscapesLikePython() {
        // python3 -c 'import json; print(json.dumps("é😀\x7f\x01"))'
        var out = ""
        JSONWriter.writeString("é😀\u{7F}\u{01}", ensureASCII: true, into: &out)
        XCTAssertEqual(out, #""\u00e9\ud83d\ude00\u007f\u0001""#)
        out = ""
        JSONWriter.writeString("é😀\u{7F}", into: &out)
        XCTAssertEqual(out, "\"é😀\u{7F}\"")
    }
}
