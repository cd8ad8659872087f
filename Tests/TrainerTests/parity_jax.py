#!/usr/bin/env python3
"""Independent JAX implementation of Hearth's GPT training step, for the parity test.

usage: parity_jax.py CONFIG.json INIT.safetensors BATCHES.bin OUT.safetensors
CONFIG: {layers, heads, width, context, vocab, batch, steps, bias, lr, min_lr, warmup, decay_steps,
         beta1, beta2, eps, weight_decay, grad_clip}
BATCHES: int32, steps x 2 x batch x context (inputs then targets for each step).
Prints one JSON line {"losses": [...]} and writes the final weights to OUT.
Written from the model's definition (GPT-2: pre-LN, tanh GELU, tied head, AdamW as torch)."""
import json, math, sys
import numpy as np
import jax, jax.numpy as jnp
from safetensors.numpy import load_file, save_file

cfg = json.load(open(sys.argv[1]))
params = {k: jnp.asarray(v) for k, v in load_file(sys.argv[2]).items()}
L, H, C, T, V, B = (cfg[k] for k in ("layers", "heads", "width", "context", "vocab", "batch"))
steps = cfg["steps"]
batches = np.fromfile(sys.argv[3], dtype=np.int32).reshape(steps, 2, B, T)
bias = cfg["bias"]

def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / jnp.sqrt(var + 1e-5) * w
    return y + b if b is not None else y

def dense(x, p, name):
    y = x @ p[name + ".weight"]
    return y + p[name + ".bias"] if bias else y

def gelu(x):
    return 0.5 * x * (1 + jnp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def loss_fn(p, x, y):
    h = p["wte.weight"][x] + p["wpe.weight"][:T]
    mask = jnp.tril(jnp.ones((T, T), bool))
    D = C // H
    for i in range(L):
        pre = f"h.{i}."
        a = layer_norm(h, p[pre + "ln_1.weight"], p.get(pre + "ln_1.bias"))
        q, k, v = jnp.split(dense(a, p, pre + "attn.c_attn"), 3, axis=-1)
        q, k, v = (t.reshape(B, T, H, D).transpose(0, 2, 1, 3) for t in (q, k, v))
        s = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(D), -jnp.inf)
        att = jax.nn.softmax(s, axis=-1) @ v
        h = h + dense(att.transpose(0, 2, 1, 3).reshape(B, T, C), p, pre + "attn.c_proj")
        m = layer_norm(h, p[pre + "ln_2.weight"], p.get(pre + "ln_2.bias"))
        h = h + dense(gelu(dense(m, p, pre + "mlp.c_fc")), p, pre + "mlp.c_proj")
    h = layer_norm(h, p["ln_f.weight"], p.get("ln_f.bias"))
    logits = h @ p["wte.weight"].T
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, y[..., None], axis=-1).mean()

def lr_at(it):
    if it < cfg["warmup"]:
        return cfg["lr"] * (it + 1) / (cfg["warmup"] + 1)
    if it > cfg["decay_steps"]:
        return cfg["min_lr"]
    r = (it - cfg["warmup"]) / (cfg["decay_steps"] - cfg["warmup"])
    return cfg["min_lr"] + 0.5 * (1 + math.cos(math.pi * r)) * (cfg["lr"] - cfg["min_lr"])

b1, b2, eps, wd, clip = cfg["beta1"], cfg["beta2"], cfg["eps"], cfg["weight_decay"], cfg["grad_clip"]

@jax.jit
def step(params, m, v, x, y, lr, n):
    loss, g = jax.value_and_grad(loss_fn)(params, x, y)
    norm = jnp.sqrt(sum(jnp.sum(t * t) for t in g.values()))
    scale = jnp.minimum(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0
    new_p, new_m, new_v = {}, {}, {}
    for k in params:
        gk = g[k] * scale
        new_m[k] = b1 * m[k] + (1 - b1) * gk
        new_v[k] = b2 * v[k] + (1 - b2) * gk * gk
        pk = params[k] * (1 - lr * wd) if params[k].ndim >= 2 else params[k]
        new_p[k] = pk - lr * (new_m[k] / (1 - b1 ** n)) / (jnp.sqrt(new_v[k] / (1 - b2 ** n)) + eps)
    return new_p, new_m, new_v, loss

m = {k: jnp.zeros_like(t) for k, t in params.items()}
v = {k: jnp.zeros_like(t) for k, t in params.items()}
losses = []
for it in range(steps):
    params, m, v, loss = step(params, m, v, jnp.asarray(batches[it, 0]), jnp.asarray(batches[it, 1]),
                              jnp.float32(lr_at(it)), jnp.float32(it + 1))
    losses.append(float(loss))
save_file({k: np.asarray(t, dtype=np.float32) for k, t in params.items()}, sys.argv[4])
print(json.dumps({"losses": losses, "jax": jax.__version__}))
