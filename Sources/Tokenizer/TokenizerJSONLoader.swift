import Foundation
import JSON

func readJSON(_ path: String) throws -> JSONValue {
    guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("cannot read \(path)") }
    let value: JSONValue
    do { value = try JSONParser.parse([UInt8](data)) } catch { throw TokenizerError("\(path): \(error)") }
    guard value.members != nil else { throw TokenizerError("\(path): top level is not a JSON object") }
    return value
}

/// A special-token entry in tokenizer_config.json: a string, or `{"content": ...}`.
func jsonTokenContent(_ value: JSONValue?) -> String? {
    if let string = value?.string { return string }
    return value?["content"]?.string
}

/// Builds the pipeline described by a tokenizer.json (HF `tokenizers` serialization).
enum TokenizerJSONLoader {
    static func load(_ root: JSONValue, path: String) throws -> Tokenizer.Parts {
        guard let modelObject = root["model"], modelObject.members != nil else { throw TokenizerError("\(path): missing \"model\"") }
        let normalizer = try root["normalizer"].flatMap { $0.isNull ? nil : $0 }.map { try parseNormalizer($0, path) }
        let preTokenizer = try root["pre_tokenizer"].flatMap { $0.isNull ? nil : $0 }.map { try parsePreTokenizer($0, path) }
        let decoder = try root["decoder"].flatMap { $0.isNull ? nil : $0 }.map { try parseDecoder($0, path) }
        let addedTokens = try (root["added_tokens"]?.array ?? []).map { object -> AddedToken in
            guard let content = object["content"]?.string, let id = (object["id"])?.int else {
                throw TokenizerError("\(path): malformed entry in \"added_tokens\"")
            }
            return AddedToken(content: content, id: id, special: (object["special"])?.bool ?? false,
                              singleWord: (object["single_word"])?.bool ?? false, lstrip: (object["lstrip"])?.bool ?? false,
                              rstrip: (object["rstrip"])?.bool ?? false, normalized: (object["normalized"])?.bool ?? false)
        }
        guard let vocabObject = modelObject["vocab"]?.members else {
            throw TokenizerError("\(path): model.vocab must be an object (model type \(modelObject["type"]?.string ?? "?") unsupported)")
        }
        var vocab: [(String, Int)] = []
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = value.int, id >= 0 else { throw TokenizerError("\(path): model.vocab[\(token)] is not an id") }
            vocab.append((token, id))
        }
        let type = modelObject["type"]?.string ?? (modelObject["merges"] != nil ? "BPE" : "WordPiece")
        var idToToken = [String?](repeating: nil, count: (vocab.map { $0.1 }.max() ?? -1) + 1)
        for (token, id) in vocab { idToToken[id] = token }

        let model: Tokenizer.Model
        switch type {
        case "BPE":
            let merges = try parseMerges(modelObject["merges"], path)
            model = .bpe(try BPEBuilder.fromMerges(
                vocab: vocab, merges: merges, byteLevel: preTokenizer?.isByteLevel ?? false,
                unknownToken: modelObject["unk_token"]?.string, fuseUnknown: (modelObject["fuse_unk"])?.bool ?? false,
                byteFallback: (modelObject["byte_fallback"])?.bool ?? false,
                ignoreMerges: (modelObject["ignore_merges"])?.bool ?? false, source: path))
        case "WordPiece":
            var table: [TokenKey: Int32] = [:]
            for (token, id) in vocab { table[TokenKey(token)] = Int32(id) }
            let unknown = modelObject["unk_token"]?.string ?? "[UNK]"
            guard let unknownId = table[TokenKey(unknown)] else { throw TokenizerError("\(path): unk_token \(unknown) not in vocab") }
            model = .wordPiece(WordPieceModel(vocab: table, unknownId: unknownId,
                                              prefix: modelObject["continuing_subword_prefix"]?.string ?? "##",
                                              maxInputCharsPerWord: (modelObject["max_input_chars_per_word"])?.int ?? 100))
        default:
            throw TokenizerError("\(path): model type \(type) is not supported (BPE and WordPiece are)")
        }
        var parts = Tokenizer.Parts(model: model, normalizer: normalizer, preTokenizer: preTokenizer,
                                    decoder: decoder, idToToken: idToToken, addedTokens: addedTokens)
        if let processor = root["post_processor"], !processor.isNull {
            let known = Dictionary(vocab, uniquingKeysWith: { first, _ in first })
                .merging(addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { _, added in added })
            parts.postProcessor = try parsePostProcessor(processor, known, path)
        }
        return parts
    }

    static func parseMerges(_ value: JSONValue?, _ path: String) throws -> [(String, String)] {
        guard let list = value?.array else { return [] }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for entry in list {
            if let line = entry.string {
                guard let space = line.firstIndex(of: " ") else { throw TokenizerError("\(path): merge \"\(line)\" has no space") }
                merges.append((String(line[..<space]), String(line[line.index(after: space)...])))
            } else if let pair = entry.array?.compactMap({ $0.string }), pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TokenizerError("\(path): malformed merge entry \(entry)")
            }
        }
        return merges
    }

    static func parsePattern(_ object: JSONValue?, _ path: String) throws -> SplitPattern {
        if let literal = object?["String"]?.string { return LiteralPattern(needle: Array(literal.utf8)) }
        if let regex = object?["Regex"]?.string { return try KnownPattern.make(regex) }
        throw TokenizerError("\(path): pattern must be {\"String\"} or {\"Regex\"}")
    }

    static func parseNormalizer(_ object: JSONValue, _ path: String) throws -> Normalizer {
        let type = object["type"]?.string ?? ""
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "Strip": return .strip(left: (object["strip_left"])?.bool ?? true, right: (object["strip_right"])?.bool ?? true)
        case "Replace":
            return .replace(try parsePattern(object["pattern"], path), object["content"]?.string ?? "")
        case "Prepend": return .prepend(object["prepend"]?.string ?? "")
        case "BertNormalizer":
            let lowercase = (object["lowercase"])?.bool ?? true
            return .bert(cleanText: (object["clean_text"])?.bool ?? true,
                         handleChineseChars: (object["handle_chinese_chars"])?.bool ?? true,
                         stripAccents: (object["strip_accents"])?.bool ?? lowercase, lowercase: lowercase)
        case "Sequence":
            return .sequence(try (object["normalizers"]?.array ?? []).map { try parseNormalizer($0, path) })
        case "Precompiled":
            // SentencePiece's precompiled charsmap is essentially NFKC.
            return .nfkc
        default:
            throw TokenizerError("\(path): normalizer type \(type) is not supported")
        }
    }

    static func parsePreTokenizer(_ object: JSONValue, _ path: String) throws -> PreTokenizer {
        let type = object["type"]?.string ?? ""
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: (object["add_prefix_space"])?.bool ?? false, useRegex: (object["use_regex"])?.bool ?? true)
        case "Split":
            let behavior = SplitBehavior(rawValue: object["behavior"]?.string ?? "Isolated") ?? .isolated
            return .split(try parsePattern(object["pattern"], path), behavior, invert: (object["invert"])?.bool ?? false)
        case "Metaspace":
            let replacement = object["replacement"]?.string ?? "\u{2581}"
            let scheme = object["prepend_scheme"]?.string ?? (((object["add_prefix_space"])?.bool ?? true) ? "always" : "never")
            return .metaspace(replacement: Array(replacement.utf8), prependAlways: scheme == "always",
                              prependFirst: scheme == "first", split: (object["split"])?.bool ?? true)
        case "Digits": return .digits(individual: (object["individual_digits"])?.bool ?? false)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "BertPreTokenizer": return .bert
        case "Punctuation":
            return .punctuation(SplitBehavior(rawValue: object["behavior"]?.string ?? "Isolated") ?? .isolated)
        case "Sequence":
            return .sequence(try (object["pretokenizers"]?.array ?? []).map { try parsePreTokenizer($0, path) })
        default:
            throw TokenizerError("\(path): pre_tokenizer type \(type) is not supported")
        }
    }

    static func parseDecoder(_ object: JSONValue, _ path: String) throws -> TokenDecoder {
        let type = object["type"]?.string ?? ""
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let scheme = object["prepend_scheme"]?.string ?? (((object["add_prefix_space"])?.bool ?? true) ? "always" : "never")
            return .metaspace(replacement: object["replacement"]?.string ?? "\u{2581}", stripFirstSpace: scheme != "never")
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = object["content"]?.string?.unicodeScalars.first ?? " "
            return .strip(content: content, start: (object["start"])?.int ?? 0, stop: (object["stop"])?.int ?? 0)
        case "Replace":
            guard let pattern = object["pattern"]?["String"]?.string else {
                throw TokenizerError("\(path): Replace decoder needs a String pattern")
            }
            return .replace(pattern, object["content"]?.string ?? "")
        case "WordPiece": return .wordPiece(prefix: object["prefix"]?.string ?? "##", cleanup: (object["cleanup"])?.bool ?? true)
        case "BPEDecoder": return .bpeSuffix(object["suffix"]?.string ?? "</w>")
        case "Sequence":
            return .sequence(try (object["decoders"]?.array ?? []).map { try parseDecoder($0, path) })
        default:
            throw TokenizerError("\(path): decoder type \(type) is not supported")
        }
    }

    static func parsePostProcessor(_ object: JSONValue, _ vocab: [String: Int], _ path: String) throws -> PostProcessor {
        let type = object["type"]?.string ?? ""
        func specialPair(_ value: JSONValue?) throws -> [Int] {
            guard let pair = value?.array, pair.count == 2, let id = pair[1].int else {
                throw TokenizerError("\(path): \(type) needs [token, id] pairs")
            }
            return [id]
        }
        switch type {
        case "TemplateProcessing":
            let specials = object["special_tokens"]
            var items: [[Int]?] = []
            for item in object["single"]?.array ?? [] {
                if item["Sequence"] != nil {
                    items.append(nil)
                } else if let special = item["SpecialToken"], let name = special["id"]?.string {
                    if let ids = specials?[name]?["ids"]?.array {
                        items.append(ids.compactMap { $0.int })
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
            return .sequence(try (object["processors"]?.array ?? []).map { try parsePostProcessor($0, vocab, path) })
        default:
            throw TokenizerError("\(path): post_processor type \(type) is not supported")
        }
    }
}
