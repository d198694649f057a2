#!/usr/bin/env python3
"""Renders every chat template in ../shared/assets/llama.cpp/models/templates with python jinja2,
configured as transformers' apply_chat_template does, and writes the expected outputs that
Tests/ChatTemplateTests compare against byte for byte.

Usage (from the repo root):  python3 scripts/make_template_fixtures.py
Needs only `jinja2` (pip install jinja2). Output: Tests/ChatTemplateTests/Fixtures/{conversations,expected}.json
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
    try:
        return {"output": template.render(**context)}
    except jinja2.exceptions.TemplateError as error:
        # raise_exception() raises a bare TemplateError; jinja's own errors are subclasses.
        raised = type(error) is jinja2.exceptions.TemplateError
        return {"error": str(error), "raised": raised}
    except Exception as error:  # TypeError etc. from python operations inside the template
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
        json.dump({"jinja2_version": jinja2.__version__, "templates": expected}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    renders = sum(len(v) for v in expected.values() if "compile_error" not in v)
    errors = sum(1 for v in expected.values() for r in v.values() if isinstance(r, dict) and "error" in r)
    print(f"{len(names)} templates, {renders} renders, {errors} raised", file=sys.stderr)


if __name__ == "__main__":
    main()
