import XCTest
import Foundation
@testable import ChatTemplate

final class ChatTemplateValueTests: XCTestCase {
    func testParseJSONKeepsKeyOrderAndKinds() throws {
        let value = try TemplateValue.parseJSON(#"{"z": 1, "a": [true, null, 2.5, -3e2, "x"], "m": {}}"#)
        guard case .object(let object) = value else { return XCTFail("expected object") }
        XCTAssertEqual(object.keys, ["z", "a", "m"])
        XCTAssertEqual(object["z"], .int(1))
        XCTAssertEqual(object["a"], [true, nil, 2.5, -300.0, "x"])
        XCTAssertEqual(object["m"], .object(OrderedObject()))
    }

    func testParseJSONEscapesAndSurrogatePairs() throws {
        let value = try TemplateValue.parseJSON(#""q\"b\\s\/n\nt\tu\u00e9 \ud83d\ude42""#)
        XCTAssertEqual(value, .string("q\"b\\s/n\nt\tué 🙂"))
    }

    func testParseJSONTurnsLoneSurrogatesIntoReplacementCharacters() throws {
        XCTAssertEqual(try TemplateValue.parseJSON(#""\ud83d""#), .string("\u{FFFD}"))
    }

    func testParseJSONRejectsBadInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "tru", "1 2", "\"a\nb\"", "[1.]", "-", "1e", "-01", ".5"] {
            XCTAssertThrowsError(try TemplateValue.parseJSON(bad), bad.debugDescription)
        }
        XCTAssertThrowsError(try TemplateValue.parseJSON(String(repeating: "[", count: 2000)))
    }

    func testLiteralsAndSubscripts() {
        let value: TemplateValue = ["role": "user", "n": 3, "ok": true, "list": [1, "two"]]
        XCTAssertEqual(value["role"]?.stringValue, "user")
        XCTAssertEqual(value["n"], .int(3))
        XCTAssertNil(value["missing"])
        XCTAssertEqual(TemplateValue("s"), .string("s"))
    }

    func testJSONStringMatchesPythonDumps() throws {
        let value = try TemplateValue.parseJSON(#"{"b": [1, 2.0, "é"], "a": null}"#)
        XCTAssertEqual(value.jsonString(), #"{"b": [1, 2.0, "é"], "a": null}"#)
        XCTAssertEqual(value.jsonString(sortKeys: true), #"{"a": null, "b": [1, 2.0, "é"]}"#)
    }

    func testRenderChatPassesTransformersVariables() throws {
        let template = try ChatTemplate(source: """
            {{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}\
            {% if tools is none %}[no tools]{% endif %}{% if add_generation_prompt %}<assistant>{% endif %}{{ extra }}
            """)
        let output = try template.renderChat(messages: [["role": "user", "content": "hi"]], addGenerationPrompt: true,
                                             bosToken: "<s>", eosToken: "</s>", extraContext: ["extra": "!"])
        XCTAssertEqual(output, "<s><user>hi[no tools]<assistant>!")
    }

    func testStrftimeNowUsesInjectedClock() throws {
        let template = try ChatTemplate(source: "{{ strftime_now('%d %b %Y') }}", now: { Date(timeIntervalSince1970: 0) })
        XCTAssertEqual(try template.render([:]), "01 Jan 1970")
    }
}
