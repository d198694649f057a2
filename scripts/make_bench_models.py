#!/usr/bin/env python3
"""Random-weight benchmark models with real model shapes, for `vllm bench forward` and serving benches.

For each shape writes, under $VLLM_BENCH_MODELS (default /work/bench-models; never inside the repo):
  <name>/            HF folder: config.json, model.safetensors (BF16), tokenizer files copied from
                     ../shared/assets
  <name>-Q8_0.gguf   the same weights as GGUF Q8_0 (norms/biases F32) with tokenizer.ggml.* metadata
  <name>-BF16.gguf   the same weights as GGUF BF16 (for llama.cpp, which reads no safetensors)
Weights are N(0, 0.02) (norms 1, biases N(0, 0.02)); the GGUF is quantized from the BF16 values.

Usage: make_bench_models.py [qwen2.5-0.5b] [llama3.2-1b]      (default: both, Qwen first)
Needs: pip install torch safetensors gguf numpy
"""
import base64
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_export  # noqa: E402  (beside this script, not an installed package)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(os.path.dirname(ROOT), "shared", "assets")
OUT = os.environ.get("VLLM_BENCH_MODELS", "/work/bench-models")

SHAPES = {
    "qwen2.5-0.5b": dict(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_size=896, intermediate_size=4864,
        num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, head_dim=64, vocab_size=151936,
        tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=32768,
        bos_token_id=151643, eos_token_id=151645, hidden_act="silu", torch_dtype="bfloat16",
        sliding_window=32768, use_sliding_window=False, max_window_layers=24),
    "llama3.2-1b": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=2048, intermediate_size=8192,
        num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, head_dim=64, vocab_size=128256,
        tie_word_embeddings=True, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072,
        rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192),
        bos_token_id=128000, eos_token_id=[128001, 128008, 128009], hidden_act="silu", torch_dtype="bfloat16",
        attention_bias=False, mlp_bias=False),
}


def random_weights(config, seed):
    """HF-named BF16 tensors."""
    generator = torch.Generator().manual_seed(seed)
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    q_dim = config["num_attention_heads"] * config["head_dim"]
    kv_dim = config["num_key_value_heads"] * config["head_dim"]
    qkv_bias = config["model_type"] == "qwen2"

    def normal(*shape):
        return (torch.randn(*shape, generator=generator) * 0.02).to(torch.bfloat16)

    tensors = {"model.embed_tokens.weight": normal(config["vocab_size"], hidden),
               "model.norm.weight": torch.ones(hidden, dtype=torch.bfloat16)}
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        tensors[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        tensors[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        tensors[p + "self_attn.q_proj.weight"] = normal(q_dim, hidden)
        tensors[p + "self_attn.k_proj.weight"] = normal(kv_dim, hidden)
        tensors[p + "self_attn.v_proj.weight"] = normal(kv_dim, hidden)
        tensors[p + "self_attn.o_proj.weight"] = normal(hidden, q_dim)
        if qkv_bias:
            tensors[p + "self_attn.q_proj.bias"] = normal(q_dim)
            tensors[p + "self_attn.k_proj.bias"] = normal(kv_dim)
            tensors[p + "self_attn.v_proj.bias"] = normal(kv_dim)
        tensors[p + "mlp.gate_proj.weight"] = normal(inter, hidden)
        tensors[p + "mlp.up_proj.weight"] = normal(inter, hidden)
        tensors[p + "mlp.down_proj.weight"] = normal(hidden, inter)
    return tensors


# ---- tokenizers -------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's byte <-> printable character table used by byte-level BPE vocabularies."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def qwen2_tokenizer(vocab_size):
    folder = os.path.join(ASSETS, "qwen2")
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(folder, "added_tokens.json"), encoding="utf-8") as f:
        added = json.load(f)
    with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
        merges = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#version")]
    with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
        template = json.load(f).get("chat_template")
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [5] * vocab_size  # unused
    for text, index in vocab.items():
        tokens[index], types[index] = text, 1  # normal
    for text, index in added.items():
        tokens[index], types[index] = text, 3  # control
    files = [os.path.join(folder, name) for name in
             ("vocab.json", "merges.txt", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json")]
    return dict(model="gpt2", pre="qwen2", tokens=tokens, types=types, merges=merges, bos=151643, eos=151645,
                pad=151643, add_bos=False, template=template, files=files)


LLAMA3_SPECIAL = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128004: "<|finetune_right_pad_id|>",
                  128006: "<|start_header_id|>", 128007: "<|end_header_id|>", 128008: "<|eom_id|>",
                  128009: "<|eot_id|>", 128010: "<|python_tag|>"}


def llama3_special_names():
    names, reserved = {}, 0
    for index in range(128000, 128256):
        if index in LLAMA3_SPECIAL:
            names[index] = LLAMA3_SPECIAL[index]
        else:
            names[index] = f"<|reserved_special_token_{reserved}|>"
            reserved += 1
    return names


def bpe_merge_of(token, ranks):
    """The pair whose merge produces `token` under tiktoken's rank-ordered BPE (None for single bytes)."""
    parts = [bytes([b]) for b in token]
    rank = ranks[token]
    while len(parts) > 2:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < rank and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best is None:
            return None
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return parts if len(parts) == 2 else None


def llama3_tokenizer(vocab_size):
    path = os.path.join(ASSETS, "llama3", "tokenizer.model")
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                encoded, rank = line.split()
                ranks[base64.b64decode(encoded)] = int(rank)
    table = bytes_to_unicode()
    to_text = lambda raw: "".join(table[b] for b in raw)
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [5] * vocab_size
    merged = []
    for raw, rank in ranks.items():
        tokens[rank], types[rank] = to_text(raw), 1
        if len(raw) > 1:
            pair = bpe_merge_of(raw, ranks)
            if pair:
                merged.append((rank, to_text(pair[0]) + " " + to_text(pair[1])))
    merges = [text for _, text in sorted(merged)]
    for index, name in llama3_special_names().items():
        tokens[index], types[index] = name, 3
    with open(os.path.join(ASSETS, "llama.cpp", "models", "templates", "meta-llama-Llama-3.2-3B-Instruct.jinja"),
              encoding="utf-8") as f:
        template = f.read()
    return dict(model="gpt2", pre="llama-bpe", tokens=tokens, types=types, merges=merges, bos=128000, eos=128009,
                pad=128004, add_bos=True, template=template, files=[path])


def hf_tokenizer_json(tok):
    """A tokenizer.json (byte-level BPE) for folders whose source tokenizer has none."""
    vocab = {text: index for index, text in enumerate(tok["tokens"]) if tok["types"][index] == 1}
    added = [dict(id=index, content=text, single_word=False, lstrip=False, rstrip=False, normalized=False,
                  special=True) for index, text in enumerate(tok["tokens"]) if tok["types"][index] == 3]
    pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    return dict(version="1.0", truncation=None, padding=None, added_tokens=added, normalizer=None,
                pre_tokenizer=dict(type="Sequence", pretokenizers=[
                    dict(type="Split", pattern=dict(Regex=pattern), behavior="Isolated", invert=False),
                    dict(type="ByteLevel", add_prefix_space=False, trim_offsets=True, use_regex=False)]),
                post_processor=None, decoder=dict(type="ByteLevel", add_prefix_space=True, trim_offsets=True,
                                                  use_regex=True),
                model=dict(type="BPE", dropout=None, unk_token=None, continuing_subword_prefix=None,
                           end_of_word_suffix=None, fuse_unk=False, byte_fallback=False, ignore_merges=True,
                           vocab=vocab, merges=tok["merges"]))


# ---- writers ----------------------------------------------------------------------------------

def write_hf(folder, config, tensors, tok):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    for path in tok["files"]:
        if os.path.exists(path) and not path.endswith("tokenizer.model"):
            shutil.copyfile(path, os.path.join(folder, os.path.basename(path)))
    if config["model_type"] == "llama":
        shutil.copyfile(tok["files"][0], os.path.join(folder, "tokenizer.model"))
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(hf_tokenizer_json(tok), f, ensure_ascii=False)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(dict(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", chat_template=tok["template"],
                           model_max_length=config["max_position_embeddings"],
                           tokenizer_class="PreTrainedTokenizerFast"), f, indent=1)


def write_gguf(path, config, tensors, tok, qtype):
    import gguf
    arch = "qwen2" if config["model_type"] == "qwen2" else "llama"
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(os.path.basename(path))
    gguf_export.add_llama_hparams(
        writer, context_length=config["max_position_embeddings"], embedding_length=config["hidden_size"],
        block_count=config["num_hidden_layers"], feed_forward_length=config["intermediate_size"],
        head_count=config["num_attention_heads"], head_count_kv=config["num_key_value_heads"],
        rms_norm_eps=config["rms_norm_eps"], rope_freq_base=config["rope_theta"],
        rope_dimension_count=config["head_dim"])
    writer.add_vocab_size(config["vocab_size"])
    bf16 = qtype == gguf.GGMLQuantizationType.BF16
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if bf16 else gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_tokenizer_model(tok["model"])
    writer.add_tokenizer_pre(tok["pre"])
    writer.add_token_list(tok["tokens"])
    writer.add_token_types(tok["types"])
    writer.add_token_merges(tok["merges"])
    writer.add_bos_token_id(tok["bos"])
    writer.add_eos_token_id(tok["eos"])
    writer.add_pad_token_id(tok["pad"])
    writer.add_add_bos_token(tok["add_bos"])
    if tok["template"]:
        writer.add_chat_template(tok["template"])

    def add(name, tensor):
        values = tensor.float().numpy()
        if values.ndim == 2:
            quantized = gguf.quants.quantize(values, qtype)
            writer.add_tensor(name, quantized, raw_shape=quantized.shape, raw_dtype=qtype)
        else:
            writer.add_tensor(name, values)

    add("token_embd.weight", tensors["model.embed_tokens.weight"])
    add("output_norm.weight", tensors["model.norm.weight"])
    if config.get("rope_scaling"):
        writer.add_tensor("rope_freqs.weight", gguf_export.llama3_freq_factors(
            config["head_dim"], config["rope_theta"], config["rope_scaling"]))
    for _, short, name, value in gguf_export.layer_tensors(tensors, config["num_hidden_layers"]):
        heads = gguf_export.rope_permute_heads(arch, short, config["num_attention_heads"],
                                               config["num_key_value_heads"])
        if heads:
            value = gguf_export.permute_for_interleaved_rope(value, heads)
        add(name, value.contiguous())
    gguf_export.finish(writer)


def main():
    names = sys.argv[1:] or list(SHAPES)
    for seed, name in enumerate(names):
        if name not in SHAPES:
            sys.exit(f"unknown shape {name}; choose from {', '.join(SHAPES)}")
        config = SHAPES[name]
        tok = qwen2_tokenizer(config["vocab_size"]) if config["model_type"] == "qwen2" else llama3_tokenizer(config["vocab_size"])
        tensors = random_weights(config, seed)
        folder = os.path.join(OUT, name)
        write_hf(folder, config, tensors, tok)
        print(f"wrote {folder}", flush=True)
        import gguf
        for suffix, qtype in (("Q8_0", gguf.GGMLQuantizationType.Q8_0), ("BF16", gguf.GGMLQuantizationType.BF16)):
            gguf_path = os.path.join(OUT, f"{name}-{suffix}.gguf")
            write_gguf(gguf_path, config, tensors, tok, qtype)
            print(f"wrote {gguf_path}", flush=True)


if __name__ == "__main__":
    main()
