#!/usr/bin/env python3
"""Renders every chat template in ../shared/assets/llama.cpp/models/templates with python jinja2,
configured as transformers' apply_chat_template does, and writes the expected outputs that
Tests/ChatTemplateTests compare against byte for byte.

Usage (from the repo root):  python3 scripts/make_template_fixtures.py
Needs only `jinja2` (pip install jinja2; fixtures were made with 3.1.6). Output in Tests/ChatTemplateTests/Fixtures:
conversations.json (inputs), expected.json (per template and conversation: output, or error and whether it came
from raise_exception) and features.json (one-feature snippets with their output or error).
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(ROOT, "..", "shared", "assets", "llama.cpp", "models", "templates")
FIXTURES = os.path.join(ROOT, "Tests", "ChatTemplateTests", "Fixtures")

# strftime_now must be reproducible: the Swift tests inject the same instant (UTC).
FIXED_NOW = datetime(2025, 3, 14, 9, 26, 53)
BOS, EOS = "<s>", "</s>"


def compile_template(source):
    """Mirrors transformers.utils.chat_template_utils._compile_jinja_template."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    class AssistantTracker(jinja2.ext.Extension):
        # transformers' {% generation %} tag; rendering just emits the body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}


def tool_call_turn(arguments, content):
    return [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": content, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temperature\": 22, \"unit\": \"celsius\"}"},
    ]


CONVERSATIONS = [
    {"name": "single_turn", "messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": True},
    {"name": "single_turn_no_prompt", "messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": False},
    {"name": "system_prompt", "messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name a colour."}], "add_generation_prompt": True},
    {"name": "multi_turn", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Say \"ok\" & <stop>.\nThanks — ünïcödé 🙂"}], "add_generation_prompt": True},
    {"name": "assistant_last", "messages": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"}], "add_generation_prompt": False,
     "extra": {"enable_thinking": False}},
    {"name": "tools_available", "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"name": "tool_call_dict_args", "messages": tool_call_turn({"city": "Paris", "unit": "celsius"}, None),
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"name": "tool_call_string_args", "messages": tool_call_turn("{\"city\": \"Paris\"}", ""),
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"name": "parallel_calls_reasoning", "messages": [
        {"role": "system", "content": "Use tools when useful."},
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": "Checking both.", "reasoning_content": "Two cities, two calls.",
         "tool_calls": [
             {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
             {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "tool_call_id": "call_a", "name": "get_weather", "content": "-3 C"},
        {"role": "tool", "tool_call_id": "call_b", "name": "get_weather", "content": "18 C"},
        {"role": "assistant", "content": "<think>compare</think>Oslo -3 C, Rome 18 C."},
        {"role": "user", "content": "Thanks"}],
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"name": "content_parts", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "briefly."}]}],
     "add_generation_prompt": True},
]


def render(template, conversation):
    context = {
        "messages": conversation["messages"],
        "tools": conversation.get("tools"),
        "documents": None,
        "add_generation_prompt": conversation["add_generation_prompt"],
        "bos_token": BOS,
        "eos_token": EOS,
    }
    context.update(conversation.get("extra", {}))
    return render_context(template, context)


# Small snippets exercising one language feature each; rendered the same way and compared byte for byte.
FEATURE_CASES = [
    # whitespace control: trim_blocks, lstrip_blocks, -, +
    ("a\n  {% if true %}\n  b\n  {% endif %}\nc", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("x\n    {%+ if true %}y{% endif +%}\nz", {}),
    ("{# comment #}\nA\n  {# indented comment #}\nB {{- ' C' }}  {{ 'D' -}}  \n E", {}),
    ("line1\n{{ 'v' }}\n{% set x = 1 %}\nline3\n", {}),
    ("{% raw %}{{ not parsed }}{% endraw %}", {}),
    ("a\r\nb\r\n{% if true %}\r\nc{% endif %}", {}),
    # literals and printing
    ("{{ [1, 2.5, 'it\\'s', \"q\\\"\", none, true, false] }}", {}),
    ("{{ {'a': 1, 'b': [none], 3: 'x'} }}|{{ (1, 'a') }}", {}),
    ("{{ 1e16 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 1.0 }} {{ 123456789.125 }} {{ -0.0 }} {{ 2 ** 0.5 }} {{ 10 / 4 }}", {}),
    ("{{ 'a\\u00e9\\x41\\n\\t|\\d' }}", {}),
    ("{{ none }}|{{ undefined_name }}|{{ true }}", {}),
    # arithmetic and operators
    ("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 3 * 'ab' }} {{ [1] * 3 }}", {}),
    ("{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ not 1 == 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ [1] }} {{ 'b' in 'abc' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }}", {}),
    ("{{ 'yes' if x else 'no' }} {{ 'only' if false }}| {{ x or 'fallback' }} {{ x and 'both' }} {{ 0 or none }}", {"x": 0}),
    ("{{ true == 1 }} {{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}", {}),
    # subscripts, slices, attributes
    ("{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[::2] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ xs.0 }}", {"xs": [1, 2, 3, 4]}),
    ("{{ d.a }} {{ d['b'] }} {{ d.missing }}|{{ d['missing'] }}|{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }}", {"d": {"a": 1, "b": "two"}}),
    ("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d['items'] is defined }}", {"d": {"a": 1}}),
    # loops
    ("{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", {"xs": "abc"}),
    ("{% for x in xs %}{{ loop.previtem }}>{{ x }}<{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }};{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for x in xs if x is odd %}{{ x }}{{ ',' if not loop.last }}{% else %}empty{% endfor %}", {"xs": [1, 2, 3, 5]}),
    ("{% for x in [] %}x{% else %}empty{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}|{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("{% for row in [[1, 2], [3, 4]] %}{% for x in row %}{{ loop.index }}{{ x }}{% endfor %}|{{ loop.index }} {% endfor %}", {}),
    ("{% set c = 0 %}{% for x in [1, 2, 3] %}{% set c = c + x %}{{ c }},{% endfor %}{{ c }}", {}),
    ("{% set ns = namespace(total=0, items=[]) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% set ns.items = ns.items + [x] %}{% endfor %}{{ ns.total }} {{ ns.items }}", {}),
    # set, macros, blocks
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}{% set block %}  inside {{ a }}  {% endset %}[{{ block }}]", {}),
    ("{% set upper_block | upper | trim %}  shout {% endset %}[{{ upper_block }}]", {}),
    ("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet('Cy', 'Yo') }}", {}),
    ("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}body{% endcall %}", {}),
    ("{% macro args(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ args(1, 2, 3, k=4) }}", {}),
    ("{% filter upper %}quiet {{ 'words' }}{% endfilter %}", {}),
    ("{% if a %}A{% elif b %}B{% else %}C{% endif %}{% if not a and not b %}-none{% endif %}", {"a": False, "b": True}),
    # tests
    ("{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }}", {"x": 1}),
    ("{{ {} is mapping }} {{ [] is sequence }} {{ 'a' is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 1 is sameas true }} {{ 'a' is eq 'a' }}", {}),
    ("{{ x is true }} {{ x is false }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ x is not none }} {{ 1 is gt 0 }} {{ 1 is in [1] }}", {"x": True}),
    # filters
    ("{{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'MiXeD' | lower }}{{ 'up' | upper }}", {}),
    ("{{ xs | length }} {{ xs | count }} {{ xs | first }} {{ xs | last }} {{ xs | join(', ') }} {{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ xs | reverse | list }} {{ xs | sort | list }}", {"xs": [3, 1, 2]}),
    ("{{ x | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ y | d('dd') }}", {"y": 0}),
    ("{{ 'a-b-c' | replace('-', '+') }} {{ 'abc' | list }} {{ 5 | string }} {{ '42' | int + 1 }} {{ '3.5' | float }} {{ 'x' | int }} {{ -3 | abs }} {{ 2.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }}", {}),
    ("{{ d | tojson }} {{ d | tojson(indent=2) }} {{ d | tojson(separators=(',', ':')) }} {{ d | tojson(sort_keys=true) }} {{ 'é\\u2028' | tojson }} {{ 'é' | tojson(ensure_ascii=true) }}", {"d": {"z": [1, 2.0, None, True], "a": {"k": "v\"q"}, "e": [], "f": {}}}),
    ("{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ d | dictsort(by='value') }}", {"d": {"b": 1, "A": 3, "c": 2}}),
    ("{{ users | selectattr('active') | map(attribute='name') | join(',') }} {{ users | rejectattr('active') | map(attribute='name') | list }} {{ users | selectattr('name', 'equalto', 'bo') | list | length }}", {"users": [{"name": "al", "active": True}, {"name": "bo", "active": False}]}),
    ("{{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ xs | map('string') | join }} {{ ['a', 'A', 'b'] | unique | list }} {{ users | sort(attribute='age') | map(attribute='n') | list }} {{ users | sum(attribute='age') }}", {"xs": [1, 2, 3], "users": [{"n": "x", "age": 3}, {"n": "y", "age": 1}]}),
    ("{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(width='> ', blank=true) }}|{{ 'mid' | center(9) }}|{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ 'one two, three' | wordcount }}", {}),
    ("{{ '<b>x</b>' | striptags }} {{ '<a&b>' | escape }} {{ 'x' | safe }} {{ '%s=%d' | format('a', 3) }} {{ 'a' + ('<' | safe) + '<' }}", {}),
    ("{{ xs | map(attribute='missing', default='-') | list }} {{ none | select | list }} {{ xs | map(attribute='k') | first }}", {"xs": [{"k": 1}]}),
    # string methods
    ("{{ '  s  '.strip() }}|{{ 'xxsxx'.strip('x') }}|{{ '  s'.lstrip() }}|{{ 's  '.rstrip() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}", {}),
    ("{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b '.split(' ') }}", {}),
    ("{{ 'aaa'.replace('a', 'b', 2) }} {{ 'Hello World'.upper() }} {{ 'hello world'.title() }} {{ 'ab'.find('b') }} {{ 'ab'.find('z') }} {{ 'banana'.count('a') }} {{ '{} and {}'.format(1, 'x') }} {{ '-'.join(['a', 'b']) }}", {}),
    ("{{ 'l1\\nl2\\r\\nl3'.splitlines() }} {{ 'ab'.capitalize() }} {{ '42'.isdigit() }} {{ 'x'.zfill(3) }}", {}),
    # errors: these must raise in both implementations
    ("{{ raise_exception('custom failure') }}", {}),
    ("{{ undefined_name.attr }}", {}),
    ("{{ d.missing.deeper }}", {"d": {}}),
    ("{{ 1 + 'a' }}", {}),
    ("{{ none | length }}", {}),
    ("{% set xs = [] %}{% set _ = xs.append(1) %}", {}),
    ("{{ 'x' | no_such_filter }}", {}),
    ("{% for x in none %}{% endfor %}", {}),
    ("{{ strftime_now('%Y-%m-%d %H:%M:%S %b %d %A') }}", {}),
    # second batch: numeric printing, formatting and edge cases
    ("{{ 10 / 3 }} {{ 1e300 * 1e10 }} {{ 0.000123 }} {{ 1.5e-10 }} {{ 100000000000000000.0 }} {{ 2 ** 3 ** 2 }} {{ 2 * 3 ** 2 }} {{ true + 1 }} {{ 'x' * -1 }}|", {}),
    ("{{ '%.2f|%5s|%-5s|%d%%' % (3.14159, 'a', 'b', 7) }} {{ '{:.2f}'.format(1.5) }} {{ '{0}-{0}'.format('x') }} {{ '{n}!'.format(n=3) }}", {}),
    ("{{ 1.5 | int }} {{ -1.5 | int }} {{ 'abc' | float }} {{ '0x1A' | int(base=16) }} {{ 'z' | int(5) }} {{ none | string }}|{{ nothing | string }}|", {}),
    ("{{ range(3) | list }} {{ range(0, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ [1, 2, 3] | sum / 3 }} {{ [] | max }}|{{ 3 is divisibleby(3) }}", {}),
    ("{{ ['\\u200b', '\\x00', '\u00e9', 'tab\\t'] }} {{ 'abcdef'[4:1:-1] }} {{ 'abcdef'[-2:] }} {{ [1, 2, 3][5:] }} {{ [1, 2, 3][-5:2] }}", {}),
    ("{{ d | dictsort(true) }} {{ xs | map('upper') | list }} {{ users | join(', ', attribute='n') }} {{ [3, 1, 2] | sort(reverse=true) }}", {"d": {"b": 1, "B": 2, "a": 3}, "xs": ["a", "b"], "users": [{"n": "x"}, {"n": "y"}]}),
    ("{{ 'multi' 'concat' }} {{ \"double \\\"quoted\\\" \" ~ 'single \\'q\\'' }} {{ 'ß'.upper() }} {{ 'hello world' | capitalize }} {{ '  '.join(['a', 'b']) }} {{ 'a b c'.split(none, 1) }}", {}),
    ("{% macro m() %}[{{ caller('arg') }}]{% endmacro %}{% call(x) m() %}got {{ x }}{% endcall %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("{{ (x or {}).get('a', 'none') }} {{ x is mapping and x.a is defined }} {% if y is not string and y is iterable %}iter{% endif %} {{ x | length }} {{ [x] | tojson }}", {"x": {}, "y": [1]}),
    ("{% for i in range(2) %}\n  {%- for j in range(2) %}\n    {{ i }}{{ j }}\n  {%- endfor %}\n{% endfor %}\nend", {}),
    ("<{% if true %}\n\t{% if true %}  x  {% endif %}\n{% endif %}>\n  text {% if true %}kept{% endif %}\n\t{# c #}\n{{- ' after' }}", {}),
    ("{% for m in msgs %}{% set role = m.role %}{% if loop.first and role == 'system' %}{% continue %}{% endif %}{{ role }}:{{ m.content | trim }}|{% endfor %}", {"msgs": [{"role": "system", "content": " s "}, {"role": "user", "content": " u\n"}]}),
    ("{{ [1, 2] | tojson(indent='\\t') }} {{ {'k': (1, 2)} | tojson }} {{ 'a\\nb' | indent(4, first=true) }} {{ '<x>' | e | length }}", {}),
    ("{{ xs[0].content[0].text }} {{ xs | selectattr('role', 'in', ['user', 'tool']) | list | length }} {{ xs | map(attribute='role') | unique | list }}", {"xs": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "tool", "content": "t"}, {"role": "user", "content": "u"}]}),
    ("{% set ns = namespace(found=false) %}{% for x in [1, 2, 3] %}{% if x == 2 %}{% set ns.found = true %}{% break %}{% endif %}{% endfor %}{{ ns.found }} {{ ns }}", {}),
    ("{{ 'abc' | first }}{{ {'k': 1} | first }}{{ 1 if none is none }} {{ 5 is lt 7 }} {{ 'x' is in 'xyz' }} {{ none is sameas none }} {{ x is callable }}", {"x": 1}),
    ("{{ 3 % 0 }}", {}),
    ("{{ 'a' < 1 }}", {}),
    ("{{ [1][2] }}|{{ [1][2] is defined }}|{{ 'abc'[10] is defined }}", {}),
    ("{{ x.y.z }}", {"x": {"y": None}}),
    ("{{ x | join(',') }}", {"x": [1, None, "a"]}),
    ("{{ ','.join([1, 2]) }}", {}),
    ("{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
    ("{{ s }}|{{ s == '\u00e9' }}|{{ s | length }}|{{ s[::-1] }}|{{ s[0] }}|{{ 'é' in s }}|{{ s | list }}", {"s": "e\u0301"}),
]


def render_feature(source, context):
    try:
        template = compile_template(source)
    except jinja2.exceptions.TemplateError as error:
        return {"error": f"compile: {error}", "raised": False}
    return render_context(template, context)


def render_context(template, context):
    try:
        return {"output": template.render(**context)}
    except jinja2.exceptions.TemplateError as error:
        return {"error": str(error), "raised": type(error) is jinja2.exceptions.TemplateError}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}", "raised": False}


def main():
    names = sorted(n for n in os.listdir(TEMPLATES) if n.endswith(".jinja"))
    expected = {}
    for name in names:
        with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
            source = f.read()
        try:
            template = compile_template(source)
        except jinja2.exceptions.TemplateError as error:
            expected[name] = {"compile_error": str(error)}
            continue
        expected[name] = {c["name"]: render(template, c) for c in CONVERSATIONS}
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "conversations.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": BOS, "eos_token": EOS, "now_utc": FIXED_NOW.isoformat() + "Z",
                   "conversations": CONVERSATIONS}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(FIXTURES, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"jinja2_version": jinja2.__version__, "templates": expected}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    features = [{"template": source, "context": context, **render_feature(source, context)}
                for source, context in FEATURE_CASES]
    with open(os.path.join(FIXTURES, "features.json"), "w", encoding="utf-8") as f:
        json.dump({"jinja2_version": jinja2.__version__, "cases": features}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    renders = sum(len(v) for v in expected.values() if "compile_error" not in v)
    errors = sum(1 for v in expected.values() for r in v.values() if isinstance(r, dict) and "error" in r)
    print(f"{len(names)} templates, {renders} renders, {errors} raised", file=sys.stderr)


if __name__ == "__main__":
    main()
