import Foundation
import JSON

extension Tokenizer {
    /// Loads a tokenizer folder: tokenizer.json, or vocab.json + merges.txt (GPT-2 / Qwen2), or a
    /// tokenizer.model that is tiktoken ranks (Llama-3) or a SentencePiece model; plus
    /// tokenizer_config.json, special_tokens_map.json, added_tokens.json and chat_template.jinja.
    public static func load(directory: String) throws -> Tokenizer {
        let folder = URL(fileURLWithPath: directory)
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let files = FileManager.default
        let config = files.fileExists(atPath: path("tokenizer_config.json")) ? try readJSON(path("tokenizer_config.json")) : JSONValue.object([])
        let specialMap = files.fileExists(atPath: path("special_tokens_map.json")) ? try readJSON(path("special_tokens_map.json")) : JSONValue.object([])

        var parts: Tokenizer.Parts
        if files.fileExists(atPath: path("tokenizer.json")) {
            parts = try TokenizerJSONLoader.load(try readJSON(path("tokenizer.json")), path: path("tokenizer.json"))
        } else if files.fileExists(atPath: path("vocab.json")), files.fileExists(atPath: path("merges.txt")) {
            parts = try VocabMergesLoader.load(vocabPath: path("vocab.json"), mergesPath: path("merges.txt"), config: config)
        } else if files.fileExists(atPath: path("tokenizer.model")) {
            guard let data = files.contents(atPath: path("tokenizer.model")) else { throw TokenizerError("cannot read \(path("tokenizer.model"))") }
            if TiktokenLoader.looksLikeTiktoken(data) {
                parts = try TiktokenLoader.load(data, path: path("tokenizer.model"))
            } else {
                parts = try SentencePieceModelLoader.load(data, path: path("tokenizer.model"))
            }
        } else {
            throw TokenizerError("\(directory): no tokenizer.json, vocab.json+merges.txt or tokenizer.model found")
        }
        try applyConfig(&parts, config: config, specialMap: specialMap,
                        addedTokensPath: files.fileExists(atPath: path("added_tokens.json")) ? path("added_tokens.json") : nil)
        if let template = try? String(contentsOfFile: path("chat_template.jinja"), encoding: .utf8), parts.chatTemplate == nil {
            parts.chatTemplate = template
        }
        return Tokenizer(parts: parts)
    }

    /// Merges tokenizer_config.json / special_tokens_map.json / added_tokens.json into the parts.
    static func applyConfig(_ parts: inout Tokenizer.Parts, config: JSONValue, specialMap: JSONValue, addedTokensPath: String?) throws {
        var known = Set(parts.addedTokens.map { $0.id })
        var specialNames = Set<String>()
        for key in ["bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token", "mask_token"] {
            if let name = jsonTokenContent(config[key]) ?? jsonTokenContent(specialMap[key]) { specialNames.insert(name) }
        }
        for list in [config["additional_special_tokens"], specialMap["additional_special_tokens"]] {
            for entry in list?.array ?? [] { if let name = jsonTokenContent(entry) { specialNames.insert(name) } }
        }
        if let decoderEntries = config["added_tokens_decoder"]?.members {
            for (key, object) in decoderEntries.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
                guard let id = Int(key), let content = object["content"]?.string else {
                    throw TokenizerError("tokenizer_config.json: malformed added_tokens_decoder entry \(key)")
                }
                guard !known.contains(id) else { continue }
                known.insert(id)
                parts.addedTokens.append(AddedToken(content: content, id: id, special: object["special"]?.bool ?? false,
                                                    singleWord: object["single_word"]?.bool ?? false,
                                                    lstrip: object["lstrip"]?.bool ?? false, rstrip: object["rstrip"]?.bool ?? false,
                                                    normalized: object["normalized"]?.bool ?? false))
            }
        }
        if let addedTokensPath {
            for (content, value) in try readJSON(addedTokensPath).members ?? [] {
                guard let id = value.int else { throw TokenizerError("\(addedTokensPath): \(content) has no integer id") }
                guard !known.contains(id) else { continue }
                known.insert(id)
                parts.addedTokens.append(AddedToken(content: content, id: id, special: specialNames.contains(content)))
            }
        }
        if let name = jsonTokenContent(config["bos_token"]) ?? jsonTokenContent(specialMap["bos_token"]) { parts.bosToken = name; parts.bosTokenId = nil }
        if let name = jsonTokenContent(config["eos_token"]) ?? jsonTokenContent(specialMap["eos_token"]) { parts.eosToken = name; parts.eosTokenId = nil }
        if let name = jsonTokenContent(config["pad_token"]) ?? jsonTokenContent(specialMap["pad_token"]) { parts.padToken = name; parts.padTokenId = nil }

        // transformers' Llama/Gemma fast tokenizers rebuild the post-processor from these flags.
        let tokenizerClass = config["tokenizer_class"]?.string ?? ""
        let addBos = config["add_bos_token"]?.bool
        let addEos = config["add_eos_token"]?.bool
        let rebuild: Bool
        if case .none = parts.postProcessor { rebuild = addBos == true || addEos == true } else {
            rebuild = (addBos != nil || addEos != nil) && (tokenizerClass.contains("Llama") || tokenizerClass.contains("Gemma"))
        }
        if rebuild {
            var idOf: [String: Int] = [:]
            for (id, token) in parts.idToToken.enumerated() { if let token { idOf[token] = id } }
            for token in parts.addedTokens { idOf[token.content] = token.id }
            let bos = (addBos ?? false) ? parts.bosToken.flatMap { idOf[$0] }.map { [$0] } ?? [] : []
            let eos = (addEos ?? false) ? parts.eosToken.flatMap { idOf[$0] }.map { [$0] } ?? [] : []
            parts.postProcessor = .wrap(prefix: bos, suffix: eos)
        }

        if let template = config["chat_template"]?.string {
            parts.chatTemplate = template
        } else if let list = config["chat_template"]?.array {
            for object in list {
                guard let name = object["name"]?.string, let template = object["template"]?.string else { continue }
                parts.namedChatTemplates[name] = template
                if name == "default" { parts.chatTemplate = template }
            }
        }
    }
}

/// vocab.json + merges.txt (GPT-2 / Qwen2 "slow tokenizer" files).
enum VocabMergesLoader {
    static func load(vocabPath: String, mergesPath: String, config: JSONValue) throws -> Tokenizer.Parts {
        let vocabObject = try readJSON(vocabPath).members ?? []
        var vocab: [(String, Int)] = []
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = value.int, id >= 0 else { throw TokenizerError("\(vocabPath): \(token) has no integer id") }
            vocab.append((token, id))
        }
        guard let mergesData = FileManager.default.contents(atPath: mergesPath) else { throw TokenizerError("cannot read \(mergesPath)") }
        let mergeBytes = [UInt8](mergesData)
        var merges: [(String, String)] = []
        var lineStart = 0
        while lineStart < mergeBytes.count {
            var lineEnd = lineStart
            while lineEnd < mergeBytes.count, mergeBytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var end = lineEnd
            if end > lineStart, mergeBytes[end - 1] == 0x0D { end -= 1 }
            let line = mergeBytes[lineStart..<end]
            if line.isEmpty || line.starts(with: Array("#version".utf8)) { continue }
            guard let space = line.firstIndex(of: 0x20) else {
                throw TokenizerError("\(mergesPath): malformed merge line \"\(String(decoding: line, as: UTF8.self))\"")
            }
            merges.append((String(decoding: mergeBytes[lineStart..<space], as: UTF8.self),
                           String(decoding: mergeBytes[(space + 1)..<end], as: UTF8.self)))
        }
        let isQwen2 = (config["tokenizer_class"]?.string ?? "").hasPrefix("Qwen2")
        let preTokenizer: PreTokenizer = isQwen2
            ? .sequence([.split(ScannedPattern(flavor: .qwen2), .isolated, invert: false), .byteLevel(addPrefixSpace: false, useRegex: false)])
            : .byteLevel(addPrefixSpace: config["add_prefix_space"]?.bool ?? false, useRegex: true)
        let model = try BPEBuilder.fromMerges(vocab: vocab, merges: merges, byteLevel: true,
                                              unknownToken: jsonTokenContent(config["unk_token"]), fuseUnknown: false,
                                              byteFallback: false, ignoreMerges: false, source: mergesPath)
        var idToToken = [String?](repeating: nil, count: (vocab.map { $0.1 }.max() ?? -1) + 1)
        for (token, id) in vocab { idToToken[id] = token }
        return Tokenizer.Parts(model: .bpe(model), normalizer: isQwen2 ? .nfc : nil, preTokenizer: preTokenizer,
                               decoder: .byteLevel, idToToken: idToToken)
    }
}
