import Foundation

typealias JSONObject = [String: Any]

func readJSONObject(_ path: String) throws -> JSONObject {
    guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("cannot read \(path)") }
    do {
        guard let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? JSONObject else {
            throw TokenizerError("\(path): top level is not a JSON object")
        }
        return object
    } catch let error as TokenizerError {
        throw error
    } catch {
        throw TokenizerError("\(path): invalid JSON (\(error))")
    }
}

func jsonInt(_ value: Any?) -> Int? {
    if let number = value as? NSNumber { return number.intValue }
    return value as? Int
}

func jsonBool(_ value: Any?) -> Bool? {
    if let number = value as? NSNumber { return number.boolValue }
    return value as? Bool
}

/// A special-token entry in tokenizer_config.json: a string, or `{"content": ...}`.
func jsonTokenContent(_ value: Any?) -> String? {
    if let string = value as? String { return string }
    if let object = value as? JSONObject { return object["content"] as? String }
    return nil
}

/// Builds the pipeline described by a tokenizer.json (HF `tokenizers` serialization).
enum TokenizerJSONLoader {
    static func load(_ root: JSONObject, path: String) throws -> Tokenizer.Parts {
        guard let modelObject = root["model"] as? JSONObject else { throw TokenizerError("\(path): missing \"model\"") }
        let normalizer = try (root["normalizer"] as? JSONObject).map { try parseNormalizer($0, path) }
        let preTokenizer = try (root["pre_tokenizer"] as? JSONObject).map { try parsePreTokenizer($0, path) }
        let decoder = try (root["decoder"] as? JSONObject).map { try parseDecoder($0, path) }
        let addedTokens = try ((root["added_tokens"] as? [Any]) ?? []).map { entry -> AddedToken in
            guard let object = entry as? JSONObject, let content = object["content"] as? String, let id = jsonInt(object["id"]) else {
                throw TokenizerError("\(path): malformed entry in \"added_tokens\"")
            }
            return AddedToken(content: content, id: id, special: jsonBool(object["special"]) ?? false,
                              singleWord: jsonBool(object["single_word"]) ?? false, lstrip: jsonBool(object["lstrip"]) ?? false,
                              rstrip: jsonBool(object["rstrip"]) ?? false, normalized: jsonBool(object["normalized"]) ?? false)
        }
        guard let vocabObject = modelObject["vocab"] as? JSONObject else {
            throw TokenizerError("\(path): model.vocab must be an object (model type \(modelObject["type"] ?? "?") unsupported)")
        }
        var vocab: [(String, Int)] = []
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = jsonInt(value), id >= 0 else { throw TokenizerError("\(path): model.vocab[\(token)] is not an id") }
            vocab.append((token, id))
        }
        let type = modelObject["type"] as? String ?? (modelObject["merges"] != nil ? "BPE" : "WordPiece")
        var idToToken = [String?](repeating: nil, count: (vocab.map { $0.1 }.max() ?? -1) + 1)
        for (token, id) in vocab { idToToken[id] = token }

        let model: Tokenizer.Model
        switch type {
        case "BPE":
            let merges = try parseMerges(modelObject["merges"], path)
            model = .bpe(try BPEBuilder.fromMerges(
                vocab: vocab, merges: merges, byteLevel: preTokenizer?.isByteLevel ?? false,
                unknownToken: modelObject["unk_token"] as? String, fuseUnknown: jsonBool(modelObject["fuse_unk"]) ?? false,
                byteFallback: jsonBool(modelObject["byte_fallback"]) ?? false,
                ignoreMerges: jsonBool(modelObject["ignore_merges"]) ?? false, source: path))
        case "WordPiece":
            var table: [TokenKey: Int32] = [:]
            for (token, id) in vocab { table[TokenKey(token)] = Int32(id) }
            let unknown = modelObject["unk_token"] as? String ?? "[UNK]"
            guard let unknownId = table[TokenKey(unknown)] else { throw TokenizerError("\(path): unk_token \(unknown) not in vocab") }
            model = .wordPiece(WordPieceModel(vocab: table, unknownId: unknownId,
                                              prefix: modelObject["continuing_subword_prefix"] as? String ?? "##",
                                              maxInputCharsPerWord: jsonInt(modelObject["max_input_chars_per_word"]) ?? 100))
        default:
            throw TokenizerError("\(path): model type \(type) is not supported (BPE and WordPiece are)")
        }
        var parts = Tokenizer.Parts(model: model, normalizer: normalizer, preTokenizer: preTokenizer,
                                    decoder: decoder, idToToken: idToToken, addedTokens: addedTokens)
        if let processor = root["post_processor"] as? JSONObject {
            let known = Dictionary(vocab, uniquingKeysWith: { first, _ in first })
                .merging(addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { _, added in added })
            parts.postProcessor = try parsePostProcessor(processor, known, path)
        }
        return parts
    }

    static func parseMerges(_ value: Any?, _ path: String) throws -> [(String, String)] {
        guard let list = value as? [Any] else { return [] }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for entry in list {
            if let line = entry as? String {
                guard let space = line.firstIndex(of: " ") else { throw TokenizerError("\(path): merge \"\(line)\" has no space") }
                merges.append((String(line[..<space]), String(line[line.index(after: space)...])))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TokenizerError("\(path): malformed merge entry \(entry)")
            }
        }
        return merges
    }

    static func parsePattern(_ object: JSONObject?, _ path: String) throws -> SplitPattern {
        if let literal = object?["String"] as? String { return LiteralPattern(needle: Array(literal.utf8)) }
        if let regex = object?["Regex"] as? String { return try KnownPattern.make(regex) }
        throw TokenizerError("\(path): pattern must be {\"String\"} or {\"Regex\"}")
    }

    static func parseNormalizer(_ object: JSONObject, _ path: String) throws -> Normalizer {
        let type = object["type"] as? String ?? ""
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "Strip": return .strip(left: jsonBool(object["strip_left"]) ?? true, right: jsonBool(object["strip_right"]) ?? true)
        case "Replace":
            return .replace(try parsePattern(object["pattern"] as? JSONObject, path), object["content"] as? String ?? "")
        case "Prepend": return .prepend(object["prepend"] as? String ?? "")
        case "BertNormalizer":
            let lowercase = jsonBool(object["lowercase"]) ?? true
            return .bert(cleanText: jsonBool(object["clean_text"]) ?? true,
                         handleChineseChars: jsonBool(object["handle_chinese_chars"]) ?? true,
                         stripAccents: jsonBool(object["strip_accents"]) ?? lowercase, lowercase: lowercase)
        case "Sequence":
            return .sequence(try ((object["normalizers"] as? [Any]) ?? []).compactMap { $0 as? JSONObject }.map { try parseNormalizer($0, path) })
        case "Precompiled":
            // SentencePiece's precompiled charsmap is essentially NFKC.
            return .nfkc
        default:
            throw TokenizerError("\(path): normalizer type \(type) is not supported")
        }
    }

    static func parsePreTokenizer(_ object: JSONObject, _ path: String) throws -> PreTokenizer {
        let type = object["type"] as? String ?? ""
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: jsonBool(object["add_prefix_space"]) ?? false, useRegex: jsonBool(object["use_regex"]) ?? true)
        case "Split":
            let behavior = SplitBehavior(rawValue: object["behavior"] as? String ?? "Isolated") ?? .isolated
            return .split(try parsePattern(object["pattern"] as? JSONObject, path), behavior, invert: jsonBool(object["invert"]) ?? false)
        case "Metaspace":
            let replacement = object["replacement"] as? String ?? "\u{2581}"
            let scheme = object["prepend_scheme"] as? String ?? ((jsonBool(object["add_prefix_space"]) ?? true) ? "always" : "never")
            return .metaspace(replacement: Array(replacement.utf8), prependAlways: scheme == "always",
                              prependFirst: scheme == "first", split: jsonBool(object["split"]) ?? true)
        case "Digits": return .digits(individual: jsonBool(object["individual_digits"]) ?? false)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "BertPreTokenizer": return .bert
        case "Punctuation":
            return .punctuation(SplitBehavior(rawValue: object["behavior"] as? String ?? "Isolated") ?? .isolated)
        case "Sequence":
            return .sequence(try ((object["pretokenizers"] as? [Any]) ?? []).compactMap { $0 as? JSONObject }.map { try parsePreTokenizer($0, path) })
        default:
            throw TokenizerError("\(path): pre_tokenizer type \(type) is not supported")
        }
    }

    static func parseDecoder(_ object: JSONObject, _ path: String) throws -> Decoder {
        let type = object["type"] as? String ?? ""
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let scheme = object["prepend_scheme"] as? String ?? ((jsonBool(object["add_prefix_space"]) ?? true) ? "always" : "never")
            return .metaspace(replacement: object["replacement"] as? String ?? "\u{2581}", stripFirstSpace: scheme != "never")
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = (object["content"] as? String)?.first ?? " "
            return .strip(content: content, start: jsonInt(object["start"]) ?? 0, stop: jsonInt(object["stop"]) ?? 0)
        case "Replace":
            guard let pattern = (object["pattern"] as? JSONObject)?["String"] as? String else {
                throw TokenizerError("\(path): Replace decoder needs a String pattern")
            }
            return .replace(pattern, object["content"] as? String ?? "")
        case "WordPiece": return .wordPiece(prefix: object["prefix"] as? String ?? "##", cleanup: jsonBool(object["cleanup"]) ?? true)
        case "BPEDecoder": return .bpeSuffix(object["suffix"] as? String ?? "</w>")
        case "Sequence":
            return .sequence(try ((object["decoders"] as? [Any]) ?? []).compactMap { $0 as? JSONObject }.map { try parseDecoder($0, path) })
        default:
            throw TokenizerError("\(path): decoder type \(type) is not supported")
        }
    }

    static func parsePostProcessor(_ object: JSONObject, _ vocab: [String: Int], _ path: String) throws -> PostProcessor {
        let type = object["type"] as? String ?? ""
        func specialPair(_ value: Any?) throws -> [Int] {
            guard let pair = value as? [Any], pair.count == 2, let id = jsonInt(pair[1]) else {
                throw TokenizerError("\(path): \(type) needs [token, id] pairs")
            }
            return [id]
        }
        switch type {
        case "TemplateProcessing":
            let specials = object["special_tokens"] as? JSONObject ?? [:]
            var items: [[Int]?] = []
            for entry in (object["single"] as? [Any]) ?? [] {
                guard let item = entry as? JSONObject else { continue }
                if item["Sequence"] != nil {
                    items.append(nil)
                } else if let special = item["SpecialToken"] as? JSONObject, let name = special["id"] as? String {
                    if let ids = (specials[name] as? JSONObject)?["ids"] as? [Any] {
                        items.append(ids.compactMap { jsonInt($0) })
                    } else if let id = vocab[name] {
                        items.append([id])
                    } else {
                        throw TokenizerError("\(path): template special token \(name) is unknown")
                    }
                }
            }
            return .template(items)
        case "BertProcessing", "RobertaProcessing":
            return .wrap(prefix: try specialPair(object["cls"]), suffix: try specialPair(object["sep"]))
        case "ByteLevel": return .none
        case "Sequence":
            return .sequence(try ((object["processors"] as? [Any]) ?? []).compactMap { $0 as? JSONObject }.map { try parsePostProcessor($0, vocab, path) })
        default:
            throw TokenizerError("\(path): post_processor type \(type) is not supported")
        }
    }
}
