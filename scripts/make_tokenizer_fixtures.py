#!/usr/bin/env python3
"""Generate Tests/TokenizerTests/Fixtures/hf_tokenizer_cases.json: expected ids and decodes from the
Hugging Face `tokenizers` package for the tokenizers in ../shared/assets (and the SmolLM2 GGUF when cached).

Usage: pip install tokenizers gguf; python3 scripts/make_tokenizer_fixtures.py
       python3 scripts/make_tokenizer_fixtures.py --bench [OUT.txt]   # 1 MB mixed text + HF single-thread encode timings
"""
import json
import os
import random
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(os.path.dirname(ROOT), "shared", "assets")
SMOLLM_GGUF = os.path.expanduser("~/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf")
FIXTURES = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")
OUT = os.path.join(FIXTURES, "hf_tokenizer_cases.json")
VARIANTS_OUT = os.path.join(FIXTURES, "variants")

QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CORPUS = [
    "",
    " ",
    "Hello world",
    " Hello world",
    "Hello, y'all! How're you? I'M FINE, THEY'LL SEE.",
    "The quick brown fox jumps over the lazy dog 1234567890 times.",
    "3.14159 + 2,718 = 5.85987; 1e-9 ≈ 0",
    "emoji: 🚀 😶‍🌫️ 👩🏽‍💻 🦙🦙 ✅ 🇯🇵",
    "中文测试：我想在apple工作1314151天～ 日本語のテキスト、한국어 텍스트",
    "Ελληνικά, русский язык, עברית, العربية, हिन्दी, ไทย",
    "combining: e\u0301 a\u0308 n\u0303 vs é ä ñ; Å Å",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "   leading and trailing spaces   ",
    "tabs\tand\t\ttabs\n\nnewlines\r\nCRLF\r\n\r\n",
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
    "multiple     spaces      here",
    "nbsp\u00a0here and\u2003em space and\u3000ideographic",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "<s>inside</s> text <|im_start|>user\nhi<|im_end|> <|endoftext|>",
    "special tokens glued<|im_end|><|im_start|>assistant",
    "URL https://example.com/path?query=1&b=2#frag and email a.b@c.org",
    "!!!!!! ???? ...... ----- ===== ***",
    "mixedCASE camelCaseWords snake_case_words kebab-case-words",
    "'s 's 'S 'll 'LL 're 've 'd 'm 't",
    "Ünïcödé Äpfel Straße façade naïve coöperate",
    "tokenization of supercalifragilisticexpialidocious and pneumonoultramicroscopicsilicovolcanoconiosis",
    "1 22 333 4444 55555 666666 7777777 88888888",
    "\u2581already\u2581has\u2581metaspace",
    "private use \ue000 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚",
]

# Decode-only id sequences are drawn at random per tokenizer (fixed seed), so partial UTF-8 is covered.
DECODE_SAMPLES = 12


def from_gguf(path):
    from gguf import GGUFReader

    reader = GGUFReader(path)
    fields = reader.fields

    def strings(key):
        field = fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def ints(key):
        field = fields[key]
        return [int(field.parts[i][0]) for i in field.data]

    return strings, ints, fields


def gpt2_style_from_gguf(path, pre):
    strings, ints, _ = from_gguf(path)
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    types = ints("tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) if pre == "smollm" else byte_level
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == 3])
    return tok


def bert_from_gguf(path):
    strings, ints, _ = from_gguf(path)
    tokens = strings("tokenizer.ggml.tokens")
    types = ints("tokenizer.ggml.token_type")
    vocab = {}
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if ty == 1:
            t = t[1:] if t.startswith("\u2581") else "##" + t
        vocab.setdefault(t, i)
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == 3])
    return tok


def qwen2_from_files(folder):
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    merges = []
    with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#version"):
                merges.append(tuple(line.split(" ", 1)))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    for key, entry in sorted(config["added_tokens_decoder"].items(), key=lambda kv: int(kv[0])):
        tok.add_special_tokens([AddedToken(entry["content"], special=entry["special"], normalized=False)])
    return tok


def main():
    sources = {
        "tinyllama": ("directory:tinyllama", lambda: Tokenizer.from_file(os.path.join(ASSETS, "tinyllama", "tokenizer.json"))),
        "stories260K": ("directory:stories260K-hf", lambda: Tokenizer.from_file(os.path.join(ASSETS, "stories260K-hf", "tokenizer.json"))),
        "qwen2": ("directory:qwen2", lambda: qwen2_from_files(os.path.join(ASSETS, "qwen2"))),
        "gpt2": ("gguf:llama.cpp/models/ggml-vocab-gpt-2.gguf",
                 lambda: gpt2_style_from_gguf(os.path.join(ASSETS, "llama.cpp", "models", "ggml-vocab-gpt-2.gguf"), "gpt-2")),
        "bert": ("gguf:llama.cpp/models/ggml-vocab-bert-bge.gguf",
                 lambda: bert_from_gguf(os.path.join(ASSETS, "llama.cpp", "models", "ggml-vocab-bert-bge.gguf"))),
    }
    if os.path.exists(SMOLLM_GGUF):
        sources["smollm2"] = ("cache-gguf:SmolLM2-135M-Instruct.Q4_1.gguf", lambda: gpt2_style_from_gguf(SMOLLM_GGUF, "smollm"))
    else:
        print(f"note: {SMOLLM_GGUF} absent, SmolLM2 cases not generated", file=sys.stderr)

    result = {"generator": "scripts/make_tokenizer_fixtures.py", "tokenizers_version": __import__("tokenizers").__version__,
              "tokenizers": {}}
    for name, (source, build) in sources.items():
        tok = build()
        rng = random.Random(1234)
        cases = []
        for text in CORPUS:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
        vocab_size = tok.get_vocab_size(with_added_tokens=True)
        decodes = []
        for _ in range(DECODE_SAMPLES):
            ids = [rng.randrange(vocab_size) for _ in range(rng.randrange(1, 12))]
            decodes.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                            "text_skip_special": tok.decode(ids, skip_special_tokens=True)})
        result["tokenizers"][name] = {"source": source, "vocab_size": vocab_size, "cases": cases, "decode": decodes}
        print(f"{name}: {len(cases)} cases, vocab {vocab_size}", file=sys.stderr)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


def make_variants():
    """Small tokenizer.json files exercising pipeline pieces the real tokenizers do not use,
    built on the 512-token stories260K vocabulary, with HF's ids for the corpus."""
    base_path = os.path.join(ASSETS, "stories260K-hf", "tokenizer.json")

    def flags(tok):
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
        tok.add_tokens([AddedToken("[rs]", rstrip=True, normalized=False),
                        AddedToken("word", single_word=True, normalized=False),
                        AddedToken("<|im_end|>", special=False, normalized=False),
                        AddedToken("<pad>", special=False, normalized=True)])

    def metaspace_first(tok):
        tok.normalizer = None
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
        tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="\u2581", prepend_scheme="first"), decoders.ByteFallback(), decoders.Fuse()])
        tok.add_special_tokens([AddedToken("<|im_end|>", special=True, normalized=False)])

    def metaspace_split(tok):
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")

    def splitters(tok):
        tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Replace(Regex("[0-9]+"), "#"), normalizers.StripAccents()])
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
            pre_tokenizers.Split("-", behavior="merged_with_previous"),
            pre_tokenizers.Split("x", behavior="merged_with_next"),
            pre_tokenizers.Split(".", behavior="contiguous"),
            pre_tokenizers.Punctuation(behavior="isolated"),
        ])
        tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])

    def whitespace_digits(tok):
        tok.normalizer = normalizers.NFD()
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=False)])
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])

    def whitespace_split_bert(tok):
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.BertPreTokenizer()])

    variants = {"flags": flags, "metaspace_first": metaspace_first, "metaspace_split": metaspace_split,
                "splitters": splitters, "whitespace_digits": whitespace_digits, "whitespace_split_bert": whitespace_split_bert}
    corpus = CORPUS + ["a<mask>b  <mask> c[rs]   d word words sword word.", "x-y-z--w xx.. ...x", "<|im_end|>  hi <|im_end|>",
                       "<pad>hello <pad> <pad><pad>x", "hi<pad>"]
    result = {}
    for name, modify in variants.items():
        tok = Tokenizer.from_file(base_path)
        modify(tok)
        folder = os.path.join(VARIANTS_OUT, name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"), pretty=False)
        cases = []
        for text in corpus:
            enc = tok.encode(text, add_special_tokens=True)
            cases.append({"text": text, "ids": enc.ids, "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                          "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True)})
        result[name] = cases
    with open(os.path.join(VARIANTS_OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(variants)} variants to {VARIANTS_OUT}", file=sys.stderr)


def bench_corpus():
    """~1 MB of mixed text (prose, code/templates, multilingual test strings, emoji) from the shared assets."""
    pieces = []
    for folder, suffixes in [("llama3", (".md",)), ("llama.cpp/models/templates", (".jinja",)), ("llama.cpp/models", (".inp",)),
                             ("mistral/samples", (".md", ".txt", ".json", ".jinja")), ("", (".md",))]:
        base = os.path.join(ASSETS, folder)
        for dirpath, _, files in sorted(os.walk(base)):
            for name in sorted(files):
                if name.endswith(suffixes):
                    with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                        pieces.append(f.read())
            if folder in ("llama.cpp/models", ""):
                break
    pieces += CORPUS
    rng = random.Random(7)
    out, size = [], 0
    while size < 1_000_000:
        piece = rng.choice(pieces)
        out.append(piece)
        size += len(piece.encode("utf-8"))
    return "\n".join(out).encode("utf-8")[:1_000_000].decode("utf-8", errors="ignore")


def bench(path):
    import time
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    text = bench_corpus()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}: {len(text.encode('utf-8'))} bytes", file=sys.stderr)
    candidates = {
        "qwen2": lambda: qwen2_from_files(os.path.join(ASSETS, "qwen2")),
        "tinyllama": lambda: Tokenizer.from_file(os.path.join(ASSETS, "tinyllama", "tokenizer.json")),
        "gpt2": lambda: gpt2_style_from_gguf(os.path.join(ASSETS, "llama.cpp", "models", "ggml-vocab-gpt-2.gguf"), "gpt-2"),
    }
    if os.path.exists(SMOLLM_GGUF):
        candidates["smollm2"] = lambda: gpt2_style_from_gguf(SMOLLM_GGUF, "smollm")
    for name, build in candidates.items():
        tok = build()
        tok.no_truncation()
        tok.no_padding()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            ids = tok.encode(text, add_special_tokens=False).ids
            times.append(time.perf_counter() - start)
        with open(f"{path}.{name}.ids", "w") as f:
            f.write(" ".join(map(str, ids)))
        print(f"HF tokenizers {name}: {len(ids)} tokens, first {times[0]:.3f} s, best {min(times):.3f} s, "
              f"{len(text.encode('utf-8')) / min(times) / 1e6:.2f} MB/s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        bench(sys.argv[2] if len(sys.argv) > 2 else "/tmp/tokenizer_bench.txt")
    else:
        main()
        make_variants()
