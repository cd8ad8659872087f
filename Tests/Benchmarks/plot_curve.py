#!/usr/bin/env python3
"""Learning curve of a `hearth-worker train` report (JSON lines) as a dependency-free SVG.
usage: plot_curve.py REPORT.jsonl OUT.svg [TITLE]"""
import json, sys

events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
train = [(e["step"], e["loss"]) for e in events if e["event"] == "progress"]
val = [(e["step"], e["val_loss"]) for e in events if e["event"] == "eval" and "val_loss" in e]
title = sys.argv[3] if len(sys.argv) > 3 else "hearth-worker learning curve"
W, H, L, R, T, B = 720, 420, 60, 20, 40, 50
xmax = max(s for s, _ in train + val)
ymin, ymax = 1.0, max(l for _, l in train + val) + 0.1
X = lambda s: L + (W - L - R) * s / xmax
Y = lambda l: T + (H - T - B) * (ymax - min(max(l, ymin), ymax)) / (ymax - ymin)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W/2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
for i in range(int(ymin), int(ymax) + 1):
    for frac in (0, 0.5):
        y = i + frac
        if ymin <= y <= ymax:
            out.append(f'<line x1="{L}" x2="{W-R}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{L-6}" y="{Y(y)+4:.1f}" text-anchor="end">{y:.1f}</text>')
for s in range(0, xmax + 1, max(1, xmax // 8)):
    out.append(f'<text x="{X(s):.1f}" y="{H-B+18}" text-anchor="middle">{s}</text>')
out.append(f'<text x="{(W+L)/2}" y="{H-12}" text-anchor="middle">step</text>')
out.append(f'<text x="16" y="{(H+T-B)/2}" transform="rotate(-90 16 {(H+T-B)/2})" text-anchor="middle">loss (nats/token)</text>')
ref = 1.88
out.append(f'<line x1="{L}" x2="{W-R}" y1="{Y(ref):.1f}" y2="{Y(ref):.1f}" stroke="#c33" stroke-dasharray="5,4"/>')
out.append(f'<text x="{W-R-4}" y="{Y(ref)-5:.1f}" text-anchor="end" fill="#c33">nanoGPT CPU README: val ≈ 1.88 @ 2000</text>')
poly = lambda pts, color, w: f'<polyline fill="none" stroke="{color}" stroke-width="{w}" points="' + " ".join(f"{X(s):.1f},{Y(l):.1f}" for s, l in pts) + '"/>'
out.append(poly(train, "#7aa6d8", 1.5))
out.append(poly(val, "#1f4e8c", 2.5))
for s, l in val:
    out.append(f'<circle cx="{X(s):.1f}" cy="{Y(l):.1f}" r="3" fill="#1f4e8c"/>')
out.append(f'<text x="{X(val[-1][0])-4:.1f}" y="{Y(val[-1][1])+18:.1f}" text-anchor="end" fill="#1f4e8c">val {val[-1][1]:.3f}</text>')
out.append(f'<rect x="{L+10}" y="{T+8}" width="190" height="44" fill="white" stroke="#ccc"/>')
out.append(f'<line x1="{L+18}" x2="{L+44}" y1="{T+22}" y2="{T+22}" stroke="#7aa6d8" stroke-width="1.5"/><text x="{L+50}" y="{T+26}">train loss (batch)</text>')
out.append(f'<line x1="{L+18}" x2="{L+44}" y1="{T+40}" y2="{T+40}" stroke="#1f4e8c" stroke-width="2.5"/><text x="{L+50}" y="{T+44}">val loss (20 batches)</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
