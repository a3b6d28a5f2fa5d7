#!/usr/bin/env python3
"""Writes a GGUF with the exact shape of a Llama Guard 3 model and random weights, so that a
machine that can fetch no weights computes what the real guard computes, token for token.

    guard-shape.py SHAPE VOCAB.gguf OUT.gguf      (SHAPE: llama-guard-3-1b, llama-guard-3-8b, tiny)
    guard-shape.py --sizes                       (each real shape's file size beside the catalog's)

The shapes are those of the models' Hugging Face config.json (meta-llama/Llama-Guard-3-1B:
Llama 3.2 1B's body, 16 layers of 2048 with 8192 in the FFN, 32 heads of 64 and 8 KV heads;
Llama-Guard-3-8B: Llama 3.1 8B's, 32 layers of 4096, FFN 14336, 32 heads of 128, 8 KV heads;
both vocab 128256, rope theta 500000 with llama3 scaling factor 8, and an output matrix of
their own, not tied to the embeddings). The tensor types are what llama.cpp's llama-quant.cpp
gives Q4_K_M, the catalog's files (assets/models.toml): Q6_K for the output, for attn_v and
ffn_down in the layers its use_more_bits picks, Q4_K for the rest, F32 norms, and the llama3
rope_freqs tensor as convert_hf_to_gguf.py writes it. `--sizes` checks the result against the
catalog's file sizes. `tiny` is a small body on the same vocabulary for CPU-only test runs.

The vocabulary (every tokenizer.* key) is copied from llama.cpp's models/ggml-vocab-llama-bpe.gguf
(Llama 3's, with the special tokens Llama Guard's template uses), plus Llama 3's chat template,
which that file lacks. Weights are random K-quant blocks with fixed scales (weights of mean 0,
standard deviation 0.02) so that every value is finite and activations keep a sane size;
computing them costs exactly what the real weights cost. Needs numpy and gguf-py (in the
llama.cpp source; run with PYTHONPATH=.../gguf-py)."""
import math
import sys

import numpy as np
import gguf

SHAPES = {
    # name: layers, n_embd, n_ff, heads, kv heads, catalog size in bytes (assets/models.toml)
    "llama-guard-3-1b": (16, 2048, 8192, 32, 8, 955444032),
    "llama-guard-3-8b": (32, 4096, 14336, 32, 8, 4920735552),
    "tiny": (2, 256, 768, 4, 2, None),
}
VOCAB = 128256
ROPE_THETA = 500000.0
# rope_scaling of both configs: llama3, factor 8, low 1, high 4, original context 8192.
ROPE_SCALING = (8.0, 1.0, 4.0, 8192)
CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
)
Q4_K, Q6_K, F32 = gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K, gguf.GGMLQuantizationType.F32
BLOCK_BYTES = {Q4_K: 144, Q6_K: 210}
SIGMA = 0.02


def use_more_bits(i, n):
    """llama-quant.cpp: the attn_v and ffn_down layers that Q4_K_M keeps in Q6_K."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensors(shape):
    """(name, ggml ne as [columns, rows], type) in the order convert_hf_to_gguf.py writes them."""
    layers, embd, ff, heads, kv, _ = SHAPES[shape]
    head_dim = embd // heads
    out = [("token_embd.weight", [embd, VOCAB], Q4_K), ("rope_freqs.weight", [head_dim // 2], F32)]
    for i in range(layers):
        more = Q6_K if use_more_bits(i, layers) else Q4_K
        out += [
            (f"blk.{i}.attn_norm.weight", [embd], F32),
            (f"blk.{i}.attn_q.weight", [embd, embd], Q4_K),
            (f"blk.{i}.attn_k.weight", [embd, kv * head_dim], Q4_K),
            (f"blk.{i}.attn_v.weight", [embd, kv * head_dim], more),
            (f"blk.{i}.attn_output.weight", [embd, embd], Q4_K),
            (f"blk.{i}.ffn_norm.weight", [embd], F32),
            (f"blk.{i}.ffn_gate.weight", [embd, ff], Q4_K),
            (f"blk.{i}.ffn_up.weight", [embd, ff], Q4_K),
            (f"blk.{i}.ffn_down.weight", [ff, embd], more),
        ]
    return out + [("output_norm.weight", [embd], F32), ("output.weight", [embd, VOCAB], Q6_K)]


def nbytes(ne, kind):
    if kind == F32:
        return 4 * math.prod(ne)
    return math.prod(ne) // 256 * BLOCK_BYTES[kind]


def rope_freqs(head_dim):
    """convert_hf_to_gguf.py's llama3 rope factors."""
    factor, low, high, old = ROPE_SCALING
    out = []
    for i in range(0, head_dim, 2):
        wavelen = 2 * math.pi / (1.0 / ROPE_THETA ** (i / head_dim))
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def block_pool(kind, rng, blocks=1 << 16):
    """Random blocks of a K-quant with fixed scales: weights of mean 0 and deviation SIGMA."""
    pool = np.frombuffer(rng.bytes(blocks * BLOCK_BYTES[kind]), dtype=np.uint8).reshape(blocks, -1).copy()
    if kind == Q4_K:
        # d, dmin (f16), 12 bytes of 6-bit scales and mins, then 4-bit quants. Every sub-block's
        # scale and min are 32 (0xA0 twice, then 0x00: llama.cpp's get_scale_min_k4 packing), so
        # w = 32 d q - 32 dmin with q in 0..15; dmin = 7.5 d centres it.
        d = SIGMA / (32 * math.sqrt((16 * 16 - 1) / 12))
        pool[:, 0:4] = np.frombuffer(np.array([d, 7.5 * d], dtype=np.float16).tobytes(), dtype=np.uint8)
        pool[:, 4:12] = 0xA0
        pool[:, 12:16] = 0x00
    else:
        # 128 bytes low bits, 64 high bits, 16 int8 scales, d (f16): w = d s (q - 32), q in 0..63.
        scale = 8
        d = SIGMA / (scale * math.sqrt((64 * 64 - 1) / 12))
        pool[:, 192:208] = scale
        pool[:, 208:210] = np.frombuffer(np.array([d], dtype=np.float16).tobytes(), dtype=np.uint8)
    return pool.reshape(-1)


def write(shape, vocab_path, out_path):
    layers, embd, ff, heads, kv, _ = SHAPES[shape]
    rng = np.random.default_rng(29)
    pools = {kind: block_pool(kind, rng) for kind in (Q4_K, Q6_K)}
    writer = gguf.GGUFWriter(out_path, "llama")
    writer.add_name(f"{shape}-shape (random weights)")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_block_count(layers)
    writer.add_context_length(131072)
    writer.add_embedding_length(embd)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_rope_freq_base(ROPE_THETA)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(VOCAB)
    writer.add_rope_dimension_count(embd // heads)
    reader = gguf.GGUFReader(vocab_path)
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_chat_template(CHAT_TEMPLATE)
    plan = tensors(shape)
    for name, ne, kind in plan:
        # Shapes in elements, numpy order (rows first).
        writer.add_tensor_info(name, list(reversed(ne)), np.dtype(np.float32), nbytes(ne, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for name, ne, kind in plan:
        if name == "rope_freqs.weight":
            data = rope_freqs(embd // heads)
        elif kind == F32:
            data = np.ones(ne, dtype=np.float32)
        else:
            # A window of the pool from a random block: no two tensors line up.
            pool = pools[kind]
            start = int(rng.integers(0, len(pool) // BLOCK_BYTES[kind])) * BLOCK_BYTES[kind]
            data = np.resize(np.roll(pool, -start), nbytes(ne, kind))
        writer.write_tensor_data(data)
    writer.close()


def main():
    if sys.argv[1:] == ["--sizes"]:
        for shape, (*_, catalog) in SHAPES.items():
            if catalog:
                weights = sum(nbytes(ne, kind) for _, ne, kind in tensors(shape))
                print(f"{shape}: tensors {weights} bytes, catalog file {catalog} "
                      f"(metadata and padding {catalog - weights})")
        return
    if len(sys.argv) != 4 or sys.argv[1] not in SHAPES:
        sys.exit(__doc__)
    write(*sys.argv[1:])


if __name__ == "__main__":
    main()
