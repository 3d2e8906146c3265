"""Reference fixtures for the loss, optimiser and LR-schedule tests, made with PyTorch.

Writes tests/fixtures/optim/{cross_entropy,clip_loss,adamw,schedules}.json. Everything is
computed in float64 so that the fixtures are an independent reference, not a copy of our own
output. Run with: /usr/bin/python3 scripts/make_optim_fixtures.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "optim")
torch.manual_seed(1234)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)
    print("wrote", path)


def cross_entropy():
    n, v = 7, 13
    logits = (torch.randn(n, v, dtype=torch.float64) * 3).requires_grad_()
    targets = torch.randint(0, v, (n,))
    loss = F.cross_entropy(logits, targets)  # mean over rows
    loss.backward()
    write("cross_entropy.json", {
        "n": n, "v": v, "logits": flat(logits), "targets": targets.tolist(),
        "loss": float(loss), "dlogits": flat(logits.grad),
    })


def clip_case(n, d, logit_scale, fixed_scale=None):
    """CLIBD ClipLoss for one modality pair with identity labels (spec section 3)."""
    a = F.normalize(torch.randn(n, d, dtype=torch.float64), dim=-1).requires_grad_()
    b = F.normalize(torch.randn(n, d, dtype=torch.float64), dim=-1).requires_grad_()
    ls = torch.tensor(logit_scale, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(fixed_scale, dtype=torch.float64) if fixed_scale is not None else ls.exp()
    s_ab = s * a @ b.T
    labels = torch.arange(n)
    loss = (F.cross_entropy(s_ab, labels) + F.cross_entropy(s_ab.T, labels)) / 2
    loss.backward()
    return {
        "n": n, "d": d, "logitScale": logit_scale, "fixedScale": fixed_scale,
        "a": flat(a), "b": flat(b), "loss": float(loss), "da": flat(a.grad), "db": flat(b.grad),
        "dLogitScale": float(ls.grad) if ls.grad is not None else 0.0,
    }


def clip_loss():
    write("clip_loss.json", {"cases": [
        clip_case(5, 8, math.log(1 / 0.07)),
        clip_case(9, 6, 4.0),
        clip_case(6, 4, 2.6593, fixed_scale=1 / 0.07),
    ]})


def adamw():
    """torch.optim.AdamW (defaults) on two small tensors, lr from OneCycleLR, 8 steps."""
    shapes = [[3, 5], [7]]
    params = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    init = [flat(p) for p in params]
    total, max_lr = 8, 0.05
    opt = torch.optim.AdamW(params, lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=0.3,
                                                anneal_strategy="cos", cycle_momentum=False)
    steps = []
    for _ in range(total):
        grads = [torch.randn(s, dtype=torch.float64) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        steps.append({"lr": lr, "grads": [flat(g) for g in grads], "params": [flat(p) for p in params]})
    write("adamw.json", {
        "shapes": shapes, "init": init, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.01,
        "steps": steps,
    })


def record(make, n, base_lr=1.0):
    """Learning rates after 0..n scheduler steps (OneCycleLR overrides the base lr itself)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    lrs.append(opt.param_groups[0]["lr"])
    return lrs


def schedules():
    sch = torch.optim.lr_scheduler
    cases = []
    for total, max_lr in [(3, 2e-4), (10, 5e-5), (100, 1e-3), (7, 1.0)]:
        for three_phase in [False, True]:
            cases.append({
                "kind": "one_cycle", "maxLr": max_lr, "totalSteps": total, "threePhase": three_phase,
                "lrs": record(lambda o: sch.OneCycleLR(o, max_lr=max_lr, total_steps=total, pct_start=0.3,
                                                       anneal_strategy="cos", cycle_momentum=False,
                                                       three_phase=three_phase), total - 1),
            })
    cases.append({
        "kind": "one_cycle", "maxLr": 1e-2, "totalSteps": 20, "anneal": "linear", "pctStart": 0.25,
        "divFactor": 10, "finalDivFactor": 100,
        "lrs": record(lambda o: sch.OneCycleLR(o, max_lr=1e-2, total_steps=20, pct_start=0.25,
                                               anneal_strategy="linear", cycle_momentum=False,
                                               div_factor=10, final_div_factor=100), 19),
    })
    for t_max, eta_min in [(10, 0.0), (25, 1e-3)]:
        cases.append({"kind": "cosine", "baseLr": 0.1, "tMax": t_max, "etaMin": eta_min,
                      "lrs": record(lambda o, t=t_max, e=eta_min: sch.CosineAnnealingLR(o, T_max=t, eta_min=e),
                                    t_max, 0.1)})
    cases.append({"kind": "exponential", "baseLr": 0.1, "gamma": 0.95,
                  "lrs": record(lambda o: sch.ExponentialLR(o, gamma=0.95), 40, 0.1)})
    cases.append({"kind": "step", "baseLr": 0.1, "stepSize": 10, "gamma": 0.5,
                  "lrs": record(lambda o: sch.StepLR(o, step_size=10, gamma=0.5), 45, 0.1)})
    write("schedules.json", {"torch": torch.__version__, "cases": cases})


if __name__ == "__main__":
    cross_entropy()
    clip_loss()
    adamw()
    schedules()
