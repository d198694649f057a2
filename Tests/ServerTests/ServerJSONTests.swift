import Foundation
import XCTest
@testable import Server

final class ServerJSONTests: XCTestCase {
    func testParsesKeepingKeyOrderAndNumberKinds() throws {
        let value = try JSONParser.parse(#" {"z": 1, "a": [true, null, 2.5, -3, "x\"\u00e9\ud83d\ude00"], "m": {}} "#)
        guard case .object(let members) = value else { return XCTFail("object expected") }
        XCTAssertEqual(members.map(\.0), ["z", "a", "m"])
        XCTAssertEqual(value["z"], .int(1))
        XCTAssertEqual(value["a"], .array([.bool(true), .null, .double(2.5), .int(-3), .string("x\"é😀")]))
        XCTAssertEqual(value["m"], .object([]))
    }

    func testRejectsMalformedInput() {
        for text in ["{", "[1,]", "{\"a\" 1}", "01x", "\"\u{01}\"", "tru", "{} {}", "NaN", "1e999", "\"\\q\"", ""] {
            XCTAssertThrowsError(try JSONParser.parse(text), text)
        }
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
    }

    func testDepthIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { error in
            XCTAssertTrue("\(error)".contains("nesting"))
        }
        XCTAssertNoThrow(try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
    }

    func testWriterEscapesAndRoundTrips() throws {
        let value: JSONValue = .object([("b", "line\nbreak \"q\" \u{01}"), ("a", .array([1, 2.5, -0.25, .null, true]))])
        let text = JSONWriter.string(value)
        XCTAssertEqual(text, #"{"b":"line\nbreak \"q\" \u0001","a":[1,2.5,-0.25,null,true]}"#)
        XCTAssertEqual(try JSONParser.parse(text), value)
        XCTAssertEqual(JSONWriter.string(.double(-.infinity)), "-9999.0")
    }

    func testConstantTimeKeyComparison() {
        let keys = [Array("secret".utf8), Array("other".utf8)]
        XCTAssertTrue(constantTimeMatchesAny(Array("secret".utf8), keys))
        XCTAssertTrue(constantTimeMatchesAny(Array("other".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny(Array("secre".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny(Array("secrets".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny([], keys))
    }
}
