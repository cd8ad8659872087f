#!/usr/bin/env python3
"""The PyTorch peer for Tests/GPU/run.sh: the same GPT-2 model as Hearth's trainer (pre-LN,
tanh GELU, tied head, biases, fp32 master weights), trained on random tokens with torch.compile
and fused AdamW, plus the card's measured matrix peak.

usage: torch_gpt.py peak                          -> RESULT torch-peak {"tf32": TFLOP/s, "bf16": ..., "fp32": ...}
       torch_gpt.py train L H C T B V PRECISION    -> RESULT torch {"tok_s": ..., ...}
PRECISION: fp32 | tf32 (TF32 matmuls) | bf16 (autocast to bfloat16, fp32 weights)."""
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def peak():
    out = {}
    n = 8192
    for name, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        best = 0.0
        for _ in range(10):
            t0 = time.perf_counter()
            a @ b
            torch.cuda.synchronize()
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e12)
        out[name] = round(best, 1)
    print("RESULT torch-peak " + json.dumps(out), flush=True)


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(B, T, self.h, C // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, H, C, T, V):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, H) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.view(-1))


def train(L, H, C, T, B, V, precision, steps=10, warmup=3):
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.manual_seed(1)
    model = GPT(L, H, C, T, V).cuda()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    step = torch.compile(model)
    times = []
    for s in range(warmup + steps):
        x = torch.randint(0, V, (B, T), device="cuda")
        y = torch.randint(0, V, (B, T), device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = step(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print("RESULT torch " + json.dumps({"L": L, "H": H, "C": C, "T": T, "B": B, "V": V, "precision": precision,
                                         "params": params, "median_ms": round(med * 1e3, 2),
                                         "tok_s": round(B * T / med), "loss_last": float(loss)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "peak":
        peak()
    else:
        L, H, C, T, B, V = map(int, sys.argv[2:8])
        train(L, H, C, T, B, V, sys.argv[8])
