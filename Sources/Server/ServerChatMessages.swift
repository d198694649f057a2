import JSON
import Foundation

/// Template variables a client may not override through `chat_template_kwargs` (CVE-2025-62426 class).
let reservedTemplateKwargs: Set<String> = ["messages", "tools", "add_generation_prompt", "continue_final_message",
                                           "tokenize", "chat_template", "documents", "return_dict"]

/// Validates chat messages and normalizes their content for string-based chat templates: a list of text
/// parts becomes the parts joined with newlines (vLLM's "string" content format). Other keys keep their order.
func normalizeChatMessages(_ value: JSONValue?) throws -> [JSONValue] {
    guard let value else { throw APIError.badRequest("'messages' is required.", param: "messages") }
    guard case .array(let messages) = value else {
        throw APIError.badRequest("'messages' must be an array, got \(value.typeName).", param: "messages")
    }
    guard !messages.isEmpty else { throw APIError.badRequest("'messages' must not be empty.", param: "messages") }
    return try messages.enumerated().map { position, message in
        let path = "messages[\(position)]"
        guard case .object(var members) = message else {
            throw APIError.badRequest("'\(path)' must be an object, got \(message.typeName).", param: path)
        }
        guard let roleValue = message["role"] else {
            throw APIError.badRequest("'\(path).role' is required.", param: "\(path).role")
        }
        guard case .string(let role) = roleValue else {
            throw APIError.badRequest("'\(path).role' must be a string, got \(roleValue.typeName).", param: "\(path).role")
        }
        let hasToolCalls = !(message["tool_calls"]?.isNull ?? true) || !(message["function_call"]?.isNull ?? true)
        if role == "tool", message["tool_call_id"] == nil {
            throw APIError.badRequest("'\(path).tool_call_id' is required for tool messages.", param: "\(path).tool_call_id")
        }
        guard let contentIndex = members.firstIndex(where: { $0.0 == "content" }) else {
            guard role == "assistant" && hasToolCalls else {
                throw APIError.badRequest("'\(path).content' is required.", param: "\(path).content")
            }
            // vLLM gives every message a string content; templates that concatenate it would fail on none.
            members.append(("content", .string("")))
            return .object(members)
        }
        switch members[contentIndex].1 {
        case .string:
            break
        case .null:
            guard role == "assistant" else {
                throw APIError.badRequest("'\(path).content' must not be null.", param: "\(path).content")
            }
            // The openai SDK and LangChain send `"content": null` with tool_calls in every tool loop; vLLM
            // renders it as "" (templates do `'...' + message['content']`, which fails on null).
            members[contentIndex].1 = .string("")
        case .array(let parts):
            var texts: [String] = []
            for (partIndex, part) in parts.enumerated() {
                let partPath = "\(path).content[\(partIndex)]"
                guard case .object = part, case .string(let type)? = part["type"] else {
                    throw APIError.badRequest("'\(partPath)' must be an object with a string 'type'.", param: partPath)
                }
                switch type {
                case "text", "input_text", "refusal":
                    let key = type == "refusal" ? "refusal" : "text"
                    guard case .string(let text)? = part[key] else {
                        throw APIError.badRequest("'\(partPath).\(key)' must be a string.", param: partPath)
                    }
                    texts.append(text)
                default:
                    throw APIError.badRequest("Content part type '\(type)' is not supported by this model (text only).",
                                              param: partPath)
                }
            }
            members[contentIndex].1 = .string(texts.joined(separator: "\n"))
        default:
            throw APIError.badRequest("'\(path).content' must be a string or an array of content parts, got \(members[contentIndex].1.typeName).",
                                      param: "\(path).content")
        }
        return .object(members)
    }
}

/// Validates `tools` / `tool_choice` (vLLM's rules). Only `none`/`auto` are honoured: tools are rendered into
/// the prompt, tool-call parsing is not implemented, so forcing a call is refused.
func parseTools(_ fields: FieldReader) throws -> [JSONValue]? {
    let tools = try fields.array("tools")
    // `tools: []` is valid (vLLM): the template receives an empty list, which templates treat as no tools.
    if let tools {
        for (position, tool) in tools.enumerated() {
            guard case .object = tool, case .object(let function)? = tool["function"],
                  function.contains(where: { $0.0 == "name" }) else {
                throw APIError.badRequest("'tools[\(position)]' must be {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                                          param: "tools[\(position)]")
            }
        }
    }
    if let choice = fields.value("tool_choice") {
        guard tools != nil else {
            if case .string("none") = choice { return nil }
            throw APIError.badRequest("When using `tool_choice`, `tools` must be set.", param: "tool_choice")
        }
        switch choice {
        case .string("none"), .string("auto"): break
        case .string("required"), .object:
            throw APIError.badRequest("tool_choice '\(choice.typeName == "string" ? "required" : "named function")' is not supported by this server (only 'auto' and 'none').",
                                      param: "tool_choice")
        default:
            throw APIError.badRequest("tool_choice must be 'none', 'auto', 'required' or a named function.",
                                      param: "tool_choice")
        }
    }
    return tools
}

func parseTemplateKwargs(_ fields: FieldReader) throws -> [(String, JSONValue)] {
    guard let kwargs = try fields.object("chat_template_kwargs") else { return [] }
    return kwargs.filter { !reservedTemplateKwargs.contains($0.0) }
}
