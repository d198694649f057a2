"""GGUF export helpers shared by make_bench_models.py and make_model_fixtures.py.

Both scripts turn HF-named Llama-family weights into llama.cpp GGUF files; keeping the tensor names, the q/k
row order and the hyperparameter keys in one place keeps their GGUFs in the layout llama.cpp's own converter
writes, which is what the engine's GGUF loader expects. Only needs numpy; callers pass a gguf.GGUFWriter.
"""
import math

import numpy as np

# HF layer-tensor name prefixes and the llama.cpp names they become (".weight"/".bias" suffixes are kept).
LAYER_RENAMES = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                 "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                 "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}


def gguf_layer_name(short):
    """The llama.cpp name of a layer tensor given its HF name without the "model.layers.N." prefix."""
    for hf, gg in LAYER_RENAMES.items():
        if short.startswith(hf):
            return gg + short[len(hf):]
    return short


def layer_tensors(tensors, num_layers):
    """(HF key, short HF name, GGUF name, value) for every layer tensor, layer by layer and within a layer in
    `tensors`' own order, so the GGUF's tensor order follows the HF checkpoint's."""
    for layer in range(num_layers):
        prefix = f"model.layers.{layer}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                short = key[len(prefix):]
                yield key, short, f"blk.{layer}.{gguf_layer_name(short)}", value


def permute_for_interleaved_rope(weights, heads):
    """llama.cpp's converter reorders each head's rows from halves to interleaved pairs."""
    rows = weights.shape[0]
    return weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def rope_permute_heads(arch, short, num_heads, num_kv_heads):
    """How many heads to permute a layer tensor's rows by, or None: llama.cpp's llama graph rotates
    interleaved pairs, so only llama-arch q/k weights need their HF (half-split) rows reordered."""
    if arch == "llama" and short == "self_attn.q_proj.weight":
        return num_heads
    if arch == "llama" and short == "self_attn.k_proj.weight":
        return num_kv_heads
    return None


def llama3_freq_factors(head_dim, rope_theta, scaling):
    """rope_freqs.weight for llama3 RoPE scaling: llama.cpp divides each frequency by these factors instead
    of reading rope_scaling, so they must match transformers' llama3 frequency smoothing."""
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    factors = []
    for i in range(0, head_dim, 2):
        frequency = 1.0 / (rope_theta ** (i / head_dim))
        wavelength = 2 * math.pi / frequency
        if wavelength < old / high:
            factors.append(1.0)
        elif wavelength > old / low:
            factors.append(factor)
        else:
            smooth = (old / wavelength - low) / (high - low)
            factors.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def add_llama_hparams(writer, *, context_length, embedding_length, block_count, feed_forward_length,
                      head_count, head_count_kv, rms_norm_eps, rope_freq_base, rope_dimension_count):
    """The {arch}.* hyperparameters both scripts write, in one fixed order (KV order is part of the file's bytes)."""
    writer.add_context_length(context_length)
    writer.add_embedding_length(embedding_length)
    writer.add_block_count(block_count)
    writer.add_feed_forward_length(feed_forward_length)
    writer.add_head_count(head_count)
    writer.add_head_count_kv(head_count_kv)
    writer.add_layer_norm_rms_eps(rms_norm_eps)
    writer.add_rope_freq_base(rope_freq_base)
    writer.add_rope_dimension_count(rope_dimension_count)


def finish(writer):
    """GGUFWriter only writes on request, and header, KV data and tensors must go in that order."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
