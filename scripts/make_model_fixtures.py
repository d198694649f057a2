#!/usr/bin/env python3
"""Tiny random Llama-family models plus HF transformers reference logits, for ModelsTests.

Writes Tests/ModelsTests/Fixtures/<name>/{config.json, model.safetensors, reference.json} and, for a
few, a GGUF twin (model.gguf, llama.cpp tensor names; llama-arch q/k rows permuted the way
llama.cpp's converter does). Needs: pip install torch transformers gguf safetensors numpy

reference.json: {"token_ids": [...], "positions": [...], "logits": [[vocab floats] per position]}

`make_model_fixtures.py smollm2 [GGUF]` instead loads the default model (SmolLM2-135M-Instruct Q4_1
GGUF, dequantized to fp32 by transformers) and writes Fixtures/smollm2_q4_1_greedy.json: greedy
continuations of a few prompts (token ids from transformers' tokenizer) with top-5 logprobs per step.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_export  # noqa: E402  (beside this script, not an installed package)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
VOCAB = 128
SEQUENCE_LENGTH = 16

BASE = dict(hidden_size=64, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=10000.0, bos_token_id=1, eos_token_id=2, torch_dtype="float32")

MODELS = {
    "llama_untied": ("LlamaConfig", "LlamaForCausalLM", dict(tie_word_embeddings=False)),
    "llama_tied": ("LlamaConfig", "LlamaForCausalLM", dict(tie_word_embeddings=True)),
    "llama_rope_llama3": ("LlamaConfig", "LlamaForCausalLM", dict(
        tie_word_embeddings=False,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=16))),
    "llama_rope_linear": ("LlamaConfig", "LlamaForCausalLM", dict(
        tie_word_embeddings=True, rope_scaling=dict(type="linear", factor=4.0))),
    "mistral": ("MistralConfig", "MistralForCausalLM", dict(tie_word_embeddings=False, sliding_window=None)),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(tie_word_embeddings=True, rope_theta=1000000.0)),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(
        tie_word_embeddings=True, head_dim=24, intermediate_size=48, rope_theta=1000000.0, rms_norm_eps=1e-6)),
}
# Configs written in the transformers 5 form (rope_parameters); the rest use rope_theta/rope_scaling.
NEW_ROPE_FORMAT = {"llama_tied", "llama_rope_linear", "qwen3"}
# Models that also get a GGUF twin (same weights, llama.cpp layout).
GGUF_TWINS = {"llama_untied": "llama", "llama_rope_llama3": "llama", "qwen2": "qwen2"}
# Quantized GGUF variants (own reference logits, from the dequantized weights).
QUANTIZED_TWINS = {"llama_untied": ("llama", ["Q8_0", "Q4_0"]), "qwen2": ("qwen2", ["Q4_1"])}
SEEDS = {name: seed for seed, name in enumerate(MODELS)}


def randomize(model, seed):
    """Random weights everywhere (HF init leaves biases at 0 and norms at 1, which would hide bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("norm.weight"):
                values = 1.0 + 0.2 * torch.randn(parameter.shape, generator=generator)
            elif name.endswith(".bias"):
                values = 0.1 * torch.randn(parameter.shape, generator=generator)
            else:
                values = 0.08 * torch.randn(parameter.shape, generator=generator)
            parameter.copy_(values)


def make_model(name, config_class, architecture, overrides, seed):
    kwargs = dict(BASE)
    kwargs.update(overrides)
    config = getattr(transformers, config_class)(**kwargs)
    config.architectures = [architecture]
    model = getattr(transformers, architecture)(config).eval()
    randomize(model, seed)
    return model


def rope_parameters(config):
    """transformers 5 keeps rope_theta and rope_scaling together in rope_parameters."""
    return dict(config.rope_parameters)


def save_hf(model, folder, legacy_rope_fields):
    os.makedirs(folder, exist_ok=True)
    config = json.loads(model.config.to_json_string())
    if legacy_rope_fields:
        # Most published configs still use the transformers 4 form: rope_theta + rope_scaling.
        rope = config.pop("rope_parameters")
        config["rope_theta"] = rope.pop("rope_theta")
        if rope.get("rope_type", "default") != "default":
            config["rope_scaling"] = rope
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})


def save_reference(model, folder, seed, file_name="reference.json"):
    generator = torch.Generator().manual_seed(seed + 1000)
    ids = torch.randint(3, VOCAB, (SEQUENCE_LENGTH,), generator=generator)
    ids[0] = 1
    with torch.no_grad():
        logits = model(ids[None, :]).logits[0].float().numpy()
    reference = dict(token_ids=ids.tolist(), positions=list(range(SEQUENCE_LENGTH)),
                     logits=[[float(np.float32(x)) for x in row] for row in logits])
    with open(os.path.join(folder, file_name), "w") as f:
        json.dump(reference, f, separators=(",", ":"))


def save_gguf(model, folder, arch, qtype=None):
    """Writes Fixtures/gguf/<name>[_<qtype>].gguf. With `qtype` ("Q8_0", "Q4_1", ...) every matrix is
    quantized, the model's own weights are replaced by the dequantized values, and a reference.json
    for those weights is written beside the GGUF."""
    import gguf
    config = model.config
    os.makedirs(os.path.join(OUT, "gguf"), exist_ok=True)
    stem = os.path.basename(folder) + (f"_{qtype.lower()}" if qtype else "")
    writer = gguf.GGUFWriter(os.path.join(OUT, "gguf", stem + ".gguf"), arch)
    quant = getattr(gguf.GGMLQuantizationType, qtype) if qtype else None
    dequantized = {}

    def add(name, hf_name, value, heads=None):
        if quant is not None and value.ndim == 2:
            packed = gguf.quants.quantize(value, quant)
            dequantized[hf_name] = gguf.quants.dequantize(packed, quant).reshape(value.shape)
            if heads:
                packed = gguf_export.permute_for_interleaved_rope(packed, heads)
            writer.add_tensor(name, np.ascontiguousarray(packed), raw_shape=packed.shape, raw_dtype=quant)
        else:
            if heads:
                value = gguf_export.permute_for_interleaved_rope(value, heads)
            writer.add_tensor(name, np.ascontiguousarray(value))

    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    gguf_export.add_llama_hparams(
        writer, context_length=config.max_position_embeddings, embedding_length=config.hidden_size,
        block_count=config.num_hidden_layers, feed_forward_length=config.intermediate_size,
        head_count=config.num_attention_heads, head_count_kv=config.num_key_value_heads,
        rms_norm_eps=config.rms_norm_eps, rope_freq_base=rope_parameters(config)["rope_theta"],
        rope_dimension_count=head_dim)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"<t{i}>" for i in range(config.vocab_size)])
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)

    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    add("token_embd.weight", "model.embed_tokens.weight", state["model.embed_tokens.weight"])
    add("output_norm.weight", "model.norm.weight", state["model.norm.weight"])
    if not config.tie_word_embeddings:
        add("output.weight", "lm_head.weight", state["lm_head.weight"])
    rope = rope_parameters(config)
    if rope.get("rope_type") == "llama3":
        writer.add_tensor("rope_freqs.weight", gguf_export.llama3_freq_factors(
            config.hidden_size // config.num_attention_heads, rope["rope_theta"], rope))
    for key, short, name, value in gguf_export.layer_tensors(state, config.num_hidden_layers):
        heads = gguf_export.rope_permute_heads(arch, short, config.num_attention_heads, config.num_key_value_heads)
        add(name, key, value, heads)
    gguf_export.finish(writer)
    if quant is not None:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name in dequantized:
                    parameter.copy_(torch.from_numpy(dequantized[name]))
        save_reference(model, os.path.join(OUT, "gguf"), SEEDS[os.path.basename(folder)], stem + ".reference.json")


SMOLLM2_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, in a small village,",
]
SMOLLM2_STEPS = 20


def make_smollm2_fixture(gguf_path):
    folder, file_name = os.path.split(os.path.abspath(gguf_path))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=file_name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=file_name, dtype=torch.float32).eval()
    cases = []
    for prompt in SMOLLM2_PROMPTS:
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = list(prompt_ids)
        generated, top5 = [], []
        with torch.no_grad():
            for _ in range(SMOLLM2_STEPS):
                logits = model(torch.tensor([ids])).logits[0, -1].float()
                logprobs = torch.log_softmax(logits, dim=-1)
                values, indices = torch.topk(logprobs, 5)
                next_id = int(torch.argmax(logits))
                generated.append(next_id)
                top5.append([[int(i), round(float(v), 5)] for i, v in zip(indices, values)])
                ids.append(next_id)
        cases.append(dict(prompt=prompt, prompt_ids=prompt_ids, generated_ids=generated, top5_logprobs=top5,
                          text=tokenizer.decode(generated)))
        print(repr(prompt), "->", repr(tokenizer.decode(generated)))
    out = dict(model=os.path.basename(gguf_path),
               reference=f"transformers {transformers.__version__} gguf_file= (dequantized, fp32), greedy",
               cases=cases)
    with open(os.path.join(OUT, "smollm2_q4_1_greedy.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    torch.manual_seed(0)
    if sys.argv[1:2] == ["smollm2"]:
        default = os.path.expanduser("~/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf")
        make_smollm2_fixture(sys.argv[2] if len(sys.argv) > 2 else default)
        return
    only = set(sys.argv[1:])
    for seed, (name, (config_class, architecture, overrides)) in enumerate(MODELS.items()):
        if only and name not in only:
            continue
        folder = os.path.join(OUT, name)
        model = make_model(name, config_class, architecture, overrides, seed)
        save_hf(model, folder, legacy_rope_fields=name not in NEW_ROPE_FORMAT)
        save_reference(model, folder, seed)
        if name in GGUF_TWINS:
            save_gguf(model, folder, GGUF_TWINS[name])
        for qtype in QUANTIZED_TWINS.get(name, (None, []))[1]:
            save_gguf(model, folder, QUANTIZED_TWINS[name][0], qtype)  # changes model weights: keep last
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{name}: {size // 1024} KB")


if __name__ == "__main__":
    main()
