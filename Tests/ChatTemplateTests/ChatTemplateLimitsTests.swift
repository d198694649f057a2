import XCTest
@testable import ChatTemplate

/// Syntax errors carry lines; runaway templates stop with ChatTemplateError instead of hanging or crashing.
final class ChatTemplateLimitsTests: XCTestCase {
    private func syntaxError(_ source: String) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source)
            return nil
        } catch let error as ChatTemplateError {
            return error
        } catch {
            return nil
        }
    }

    private func renderError(_ source: String, limits: RenderLimits = .default) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source, limits: limits).render([:])
            return nil
        } catch let error as ChatTemplateError {
            return error
        } catch {
            return nil
        }
    }

    func testSyntaxErrorsReportTheirLine() throws {
        let cases: [(String, Int)] = [
            ("line one\n{% if x %}\nno end", 3),
            ("a\nb\n{{ 1 + }}", 3),
            ("{% for x in %}", 1),
            ("ok\n{% endfor %}", 2),
            ("\n\n{% unknowntag %}", 3),
            ("{{ 'unterminated }}", 1),
            ("{# never closed", 1),
            ("{% if true %}\n{% else %}\n{% elif false %}{% endif %}", 3),
        ]
        for (source, line) in cases {
            guard let error = syntaxError(source) else {
                XCTFail("expected a syntax error for \(source.debugDescription)")
                continue
            }
            XCTAssertEqual(error.kind, .syntax, source)
            XCTAssertEqual(error.line, line, "\(source.debugDescription): \(error)")
            XCTAssertTrue(error.description.contains("line \(line)"), error.description)
        }
    }

    func testDeeplyNestedSourceIsRejectedNotOverflowed() {
        let deep = "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}"
        XCTAssertEqual(syntaxError(deep)?.kind, .syntax)
        let deepBlocks = String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)
        XCTAssertEqual(syntaxError(deepBlocks)?.kind, .syntax)
        let moderate = "{{ " + String(repeating: "(", count: 30) + "1" + String(repeating: ")", count: 30) + " }}"
        XCTAssertEqual(try ChatTemplate(source: moderate).render([:]), "1")
    }

    func testRunawayLoopHitsStepLimit() {
        let source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        let error = renderError(source, limits: RenderLimits(maxSteps: 50_000))
        XCTAssertEqual(error?.kind, .render)
        XCTAssertTrue(error?.message.contains("step limit") ?? false, String(describing: error))
    }

    func testHugeRangeIsRefused() {
        XCTAssertNotNil(renderError("{% for i in range(1000000000) %}{% endfor %}"))
    }

    func testOutputSizeIsBounded() {
        let source = "{% for i in range(100000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}"
        let error = renderError(source, limits: RenderLimits(maxOutputBytes: 10_000))
        XCTAssertTrue(error?.message.contains("output exceeded") ?? false, String(describing: error))
    }

    func testStringBlowUpIsBounded() {
        let source = "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
        let error = renderError(source, limits: RenderLimits(maxOutputBytes: 1 << 20))
        XCTAssertNotNil(error)
    }

    func testInfiniteMacroRecursionHitsDepthLimit() {
        let source = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
        let error = renderError(source)
        XCTAssertTrue(error?.message.contains("recursion depth") ?? false, String(describing: error))
    }

    func testBoundedMacroRecursionWorks() throws {
        let source = "{% macro count(n) %}{{ n }}{% if n > 0 %},{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}"
        XCTAssertEqual(try ChatTemplate(source: source).render([:]), "5,4,3,2,1,0")
    }

    func testRaiseExceptionKeepsMessage() {
        let error = renderError("{{ raise_exception('Conversation roles must alternate') }}")
        XCTAssertEqual(error?.kind, .raised)
        XCTAssertEqual(error?.message, "Conversation roles must alternate")
    }

    func testUndefinedMisuseIsAnErrorNotACrash() {
        XCTAssertEqual(renderError("{{ missing.attr }}")?.message, "'missing' is undefined")
        XCTAssertNotNil(renderError("{{ missing() }}"))
        XCTAssertNotNil(renderError("{{ missing + 1 }}"))
        XCTAssertNotNil(renderError("{{ 1 / 0 }}"))
        XCTAssertNotNil(renderError("{{ 9223372036854775807 + 1 }}"))
        XCTAssertNotNil(renderError("{{ [1][5:2:0] }}"))
    }
}

final class ChatTemplateNestingTests: XCTestCase {
    func testSelfNestingNamespaceIsRefused() {
        let source = "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"
        XCTAssertThrowsError(try ChatTemplate(source: source).render([:]))
        XCTAssertThrowsError(try ChatTemplate(source: "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}").render([:]))
    }

    func testOverlyDeepContextIsRefused() throws {
        var value: TemplateValue = "leaf"
        for _ in 0..<1000 { value = .array([value]) }
        XCTAssertThrowsError(try ChatTemplate(source: "{{ x }}").render(["x": value]))
        var shallow: TemplateValue = "leaf"
        for _ in 0..<3 { shallow = .array([shallow]) }
        XCTAssertEqual(try ChatTemplate(source: "{{ x }}").render(["x": shallow]), "[[['leaf']]]")
    }
}
