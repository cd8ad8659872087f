#!/usr/bin/env python3
"""Serving benchmark: Hearth's served model (over HTTP, SSE) beside a JAX peer generating with the
same checkpoint (model.safetensors), in one run.

usage: serve_bench.py URL CHECKPOINT_DIR TOKENIZER_JSON [--tokens 128] [--streams 8] [--prompt-tokens 256]
Measures, for both: tokens/s of one greedy stream, aggregate tokens/s of N concurrent streams, and
time to first token for a prompt of P tokens. Each figure is the median of --repeats runs.
The JAX peer is written from the model's definition (GPT-2: pre-LN, tanh GELU, tied head) with a
KV cache: one jitted prefill over the prompt and one jitted step per token, batched over streams.
Prints RESULT lines (JSON) and a table with ratios hearth / jax."""
import argparse, http.client, json, math, statistics, sys, threading, time, urllib.parse
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("url"); ap.add_argument("checkpoint"); ap.add_argument("tokenizer", help="char tokenizer.json")
ap.add_argument("--tokens", type=int, default=128)
ap.add_argument("--streams", type=int, default=8)
ap.add_argument("--prompt-tokens", type=int, default=256)
ap.add_argument("--repeats", type=int, default=3)
args = ap.parse_args()
info = json.load(open(args.checkpoint + "/checkpoint.json"))
cfg = info["model"]
L, H, C, T, V = cfg["layers"], cfg["heads"], cfg["width"], cfg["context"], cfg["vocab"]
assert args.prompt_tokens + 1 <= T and 8 + args.tokens <= T, "the model's context is too short for these lengths"
rng = np.random.default_rng(0)
short = [int(x) for x in rng.integers(0, V, size=8)]
long_prompt = [int(x) for x in rng.integers(0, V, size=args.prompt_tokens)]

# ---- Hearth over HTTP -------------------------------------------------------------------------
u = urllib.parse.urlparse(args.url)

def stream(prompt, max_tokens):
    """POSTs a streamed greedy completion; returns (seconds to first token, seconds total, tokens)."""
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    body = json.dumps({"prompt": [prompt], "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}})
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read())
    first, tokens = None, 0
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            break
        obj = json.loads(data)
        if obj.get("usage"):
            tokens = obj["usage"]["completion_tokens"]
        elif obj["choices"] and obj["choices"][0]["text"] and first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    conn.close()
    return first, total, tokens

def hearth_concurrent(n):
    out = [None] * n
    def run(i): out[i] = stream(short, args.tokens)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - t0
    return sum(o[2] for o in out) / wall

stream(short, 4)  # warm-up
hearth = {
    "tok_s_1": statistics.median((lambda r: r[2] / r[1])(stream(short, args.tokens)) for _ in range(args.repeats)),
    f"tok_s_{args.streams}": statistics.median(hearth_concurrent(args.streams) for _ in range(args.repeats)),
    "ttft_ms": statistics.median(stream(long_prompt, 1)[0] * 1000 for _ in range(args.repeats)),
}

# ---- JAX peer ---------------------------------------------------------------------------------
import jax, jax.numpy as jnp
from functools import partial
from safetensors.numpy import load_file
p = {k: jnp.asarray(v) for k, v in load_file(args.checkpoint + "/model.safetensors").items()}
bias = cfg.get("bias", True)
D = C // H

def ln(x, w, b):
    mu = x.mean(-1, keepdims=True); var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / jnp.sqrt(var + 1e-5) * w
    return y + b if b is not None else y

def dense(x, name):
    y = x @ p[name + ".weight"]
    return y + p[name + ".bias"] if bias else y

def gelu(x):
    return 0.5 * x * (1 + jnp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def block_io(i, h):
    pre = f"h.{i}."
    a = ln(h, p[pre + "ln_1.weight"], p.get(pre + "ln_1.bias"))
    return pre, a

@jax.jit
def prefill(idx):
    """idx [B, P] -> last logits [B, V], per-layer caches [B, H, T, D]."""
    B, P = idx.shape
    h = p["wte.weight"][idx] + p["wpe.weight"][:P]
    mask = jnp.tril(jnp.ones((P, P), bool))
    ks, vs = [], []
    for i in range(L):
        pre, a = block_io(i, h)
        q, k, v = jnp.split(dense(a, pre + "attn.c_attn"), 3, axis=-1)
        q, k, v = (t.reshape(B, P, H, D).transpose(0, 2, 1, 3) for t in (q, k, v))
        s = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(D), -jnp.inf)
        att = jax.nn.softmax(s, axis=-1) @ v
        h = h + dense(att.transpose(0, 2, 1, 3).reshape(B, P, C), pre + "attn.c_proj")
        m = ln(h, p[pre + "ln_2.weight"], p.get(pre + "ln_2.bias"))
        h = h + dense(gelu(dense(m, pre + "mlp.c_fc")), pre + "mlp.c_proj")
        ks.append(jnp.zeros((B, H, T, D)).at[:, :, :P].set(k)); vs.append(jnp.zeros((B, H, T, D)).at[:, :, :P].set(v))
    h = ln(h[:, -1], p["ln_f.weight"], p.get("ln_f.bias"))
    return h @ p["wte.weight"].T, tuple(ks), tuple(vs)

@partial(jax.jit, donate_argnums=(2, 3))  # the caches are updated in place, not copied per token
def step(tok, pos, kc, vc):
    """tok [B], pos scalar -> logits [B, V], updated caches (one array per layer, updated in place)."""
    B = tok.shape[0]
    h = p["wte.weight"][tok] + p["wpe.weight"][pos]
    valid = jnp.arange(T) <= pos
    nk, nv = [], []
    for i in range(L):
        pre, a = block_io(i, h)
        q, k, v = jnp.split(dense(a, pre + "attn.c_attn"), 3, axis=-1)
        q, k, v = (t.reshape(B, H, D) for t in (q, k, v))
        kci = jax.lax.dynamic_update_slice(kc[i], k[:, :, None, :], (0, 0, pos, 0))
        vci = jax.lax.dynamic_update_slice(vc[i], v[:, :, None, :], (0, 0, pos, 0))
        s = jnp.where(valid, jnp.einsum("bhd,bhtd->bht", q, kci) / math.sqrt(D), -jnp.inf)
        att = jnp.einsum("bht,bhtd->bhd", jax.nn.softmax(s, axis=-1), vci)
        h = h + dense(att.reshape(B, C), pre + "attn.c_proj")
        m = ln(h, p[pre + "ln_2.weight"], p.get(pre + "ln_2.bias"))
        h = h + dense(gelu(dense(m, pre + "mlp.c_fc")), pre + "mlp.c_proj")
        nk.append(kci); nv.append(vci)
    h = ln(h, p["ln_f.weight"], p.get("ln_f.bias"))
    return h @ p["wte.weight"].T, tuple(nk), tuple(nv)

def jax_generate(prompts, n):
    """Greedy: returns (seconds to first token, seconds total, tokens generated per stream, first stream's ids)."""
    t0 = time.perf_counter()
    idx = jnp.asarray(prompts, dtype=jnp.int32)
    logits, kc, vc = prefill(idx)
    tok = jnp.argmax(logits, -1)
    tok.block_until_ready()
    first = time.perf_counter() - t0
    out = [np.asarray(tok)]
    pos = idx.shape[1]
    for _ in range(n - 1):
        logits, kc, vc = step(tok, pos, kc, vc)
        tok = jnp.argmax(logits, -1)
        out.append(np.asarray(tok))
        pos += 1
    return first, time.perf_counter() - t0, n, [int(o[0]) for o in out]

# Warm-up compiles every shape used below.
for b in (1, args.streams):
    jax_generate([short] * b, 3)
jax_generate([long_prompt], 1)
jx = {
    "tok_s_1": statistics.median((lambda r: r[2] / r[1])(jax_generate([short], args.tokens)) for _ in range(args.repeats)),
    f"tok_s_{args.streams}": statistics.median(
        (lambda r: args.streams * r[2] / r[1])(jax_generate([short] * args.streams, args.tokens)) for _ in range(args.repeats)),
    "ttft_ms": statistics.median(jax_generate([long_prompt], 1)[0] * 1000 for _ in range(args.repeats)),
}

# Both generate the same greedy text from the same weights (a check, not a speed figure).
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
conn.request("POST", "/v1/completions", json.dumps({"prompt": [short], "max_tokens": 32, "temperature": 0}),
             {"Content-Type": "application/json"})
served_text = json.loads(conn.getresponse().read())["choices"][0]["text"]
chars = json.load(open(args.tokenizer))["chars"]
jax_text = "".join(chars[i] for i in jax_generate([short], 32)[3])
same_text = served_text == jax_text

shape = f"L{L} H{H} C{C} T{T} V{V}"
print("RESULT hearth " + json.dumps(dict(hearth, shape=shape)))
print("RESULT jax " + json.dumps(dict(jx, shape=shape)))
print(f"\nmodel {shape}, {args.tokens} tokens per stream, {args.streams} concurrent streams, TTFT with a {args.prompt_tokens}-token prompt")
print(f"{'figure':<26}{'hearth':>12}{'jax':>12}{'hearth/jax':>12}")
for k, unit in (("tok_s_1", "tokens/s, 1 stream"), (f"tok_s_{args.streams}", f"tokens/s, {args.streams} streams"),
                ("ttft_ms", "TTFT ms (lower wins)")):
    print(f"{unit:<26}{hearth[k]:>12.1f}{jx[k]:>12.1f}{hearth[k] / jx[k]:>12.2f}")
print(f"same 32-token greedy text from both: {same_text}")
print("RESULT check " + json.dumps({"same_greedy_text": same_text}))
