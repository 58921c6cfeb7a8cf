"""Budgeted design of both families, from the papers' own parameterizations
(``python tools/analysis/design.py rexnet|regnet --flops 0.6G [--params 6M]``); for a
measured-latency budget (``--latency-ms 30 --runtime torch|ort|openvino``) see
:mod:`rexnet_mm.analysis.latency`. The command line is :mod:`rexnet_mm.tools.design`.

Costs are counted analytically from the per-block plans the backbones are built from
(:func:`rexnet_mm.models.backbones.rexnet.rexnet_blocks`,
:func:`rexnet_mm.models.backbones.regnet.arch_stages`), as the papers count
them: multiply-adds of the convolutions and the classifier at 224x224 (BN, activations and
pooling not counted; "FLOPs" in both papers), and every parameter of the 1000-class
classifier, BN included. ``tests/test_design.py`` checks both counts against the built
models (``count_params``, ``conv_fc_macs``). A cost takes microseconds, so the RegNet side
can sample the paper's design space by the thousand.

* ReXNet: the linear channel rule is fixed by the arch (v1 / lite); the knobs are the
  width multiplier and the depth multiplier, searched on a grid.
* RegNet: ``(w0, wa, wm, depth, group_w)`` sampled as in the paper's RegNet design space
  (``w0`` and ``wa`` in [8, 256], ``wm`` in [1.5, 3], ``depth`` in [12, 28], the group
  width from pycls' set; the quantized widths must form 4 stages), ``se_ratio`` 0.25 for
  RegNetY. The pycls zoo's own parameters are points of that space and are listed
  with the samples, marked ``zoo``.
"""
import math
import random

from ..models.backbones.regnet import ARCH_SETTINGS as REGNET_ARCHS
from ..models.backbones.regnet import arch_stages, se_channels
from ..models.backbones.rexnet import rexnet_block_widths, rexnet_blocks, rexnet_feature_info


def _conv_out(size, stride):
    return (size - 1) // stride + 1  # 3x3 with padding = dilation, or 1x1, any stride


def rexnet_cost(widen_factor=1.0, arch='v1', depth_mult=1.0, num_classes=1000, size=224,
                se_reduction=12):
    """``(params, multiply-adds)`` of a ReXNet classifier (:mod:`rexnet_mm.models.classifiers`)."""
    stem, _, head = rexnet_block_widths(widen_factor, arch, depth_mult)
    h = _conv_out(size, 2)
    params, macs = 27 * stem + 2 * stem, h * h * 27 * stem
    for b in rexnet_blocks(widen_factor, arch, depth_mult):
        mid = b.in_channels * b.expand_ratio
        if b.expand_ratio != 1:
            params += b.in_channels * mid + 2 * mid
            macs += h * h * b.in_channels * mid
        h = _conv_out(h, b.stride)
        params += 9 * mid + 2 * mid
        macs += h * h * 9 * mid
        if b.se:
            r = mid // se_reduction
            params += 2 * mid * r + r + mid + 2 * r
            macs += 2 * mid * r
        params += mid * b.out_channels + 2 * b.out_channels
        macs += h * h * mid * b.out_channels
        last = b.out_channels
    params += last * head + 2 * head
    macs += h * h * last * head
    if arch == 'lite':  # head -> 1024 -> BN -> classes
        params += head * 1024 + 1024 + 2 * 1024 + 1024 * num_classes + num_classes
        macs += head * 1024 + 1024 * num_classes
    else:
        params += head * num_classes + num_classes
        macs += head * num_classes
    return params, macs


def regnet_cost(plan, num_classes=1000, size=224, stem=32):
    """``(params, multiply-adds)`` of a RegNet classifier from its stage plan
    (:func:`~rexnet_mm.models.backbones.regnet.arch_stages`)."""
    h = _conv_out(size, 2)
    params, macs = 27 * stem + 2 * stem, h * h * 27 * stem
    prev = stem
    for w, d, g in zip(plan['widths'], plan['depths'], plan['group_widths']):
        for j in range(d):
            w_in, stride = (prev, 2) if j == 0 else (w, 1)
            mid = int(round(w * plan['bot_mul']))
            h_out = _conv_out(h, stride)
            params += w_in * mid + 2 * mid + 9 * mid * g + 2 * mid + mid * w + 2 * w
            macs += h * h * w_in * mid + h_out * h_out * 9 * mid * g + h_out * h_out * mid * w
            s = se_channels(w_in, plan['se_ratio'])
            if s:
                params += 2 * mid * s + s + mid
                macs += 2 * mid * s
            if stride != 1 or w_in != w:
                params += w_in * w + 2 * w
                macs += h_out * h_out * w_in * w
            h = h_out
        prev = w
    params += prev * num_classes + num_classes
    macs += prev * num_classes
    return params, macs


def parse_amount(text):
    """``'0.6G'`` -> 6e8, ``'6M'`` -> 6e6, ``'1.6e9'`` -> 1.6e9."""
    scale = {'K': 1e3, 'M': 1e6, 'G': 1e9}
    text = str(text).strip().upper()
    try:
        if text and text[-1] in scale:
            return float(text[:-1]) * scale[text[-1]]
        return float(text)
    except ValueError:
        raise ValueError(f'cannot read {text!r} as an amount: write e.g. 0.6G, 6M or 4e8')


def _distance(params, flops, budget_flops, budget_params):
    d = abs(math.log(flops / budget_flops))
    if budget_params:
        d += abs(math.log(params / budget_params))
    return d


def rank_candidates(rows, flops, params, tolerance):
    """Published models within ``tolerance`` of the budget first (they have trained
    weights), then everything by relative distance to the budget."""
    def key(r):
        within = all(abs(v / b - 1) <= tolerance for v, b in
                     ((r['flops'], flops), (r['params'], params)) if b)
        return (not (r['published'] and within), _distance(r['params'], r['flops'],
                                                            flops, params))
    return sorted(rows, key=key)


def rexnet_space(archs=('v1', 'lite')):
    """Every ReXNet of the grid: widths 0.5-3.0 (step 0.05) x depth multipliers 0.5-2.0
    (step 0.25), per arch, as rows (``params``, ``flops``, the config ``snippet``...)."""
    from ..models.backbones.rexnet import PUBLISHED_WIDTHS
    rows = []
    for arch in archs:
        for w in [round(0.5 + 0.05 * i, 2) for i in range(51)]:
            for dm in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0):
                p, f = rexnet_cost(w, arch, dm)
                stages = [c for c, _ in rexnet_feature_info(w, arch, dm)]
                rows.append(dict(family='ReXNet', arch=arch, widen_factor=w, depth_mult=dm,
                                 params=p, flops=f, stage_widths=stages,
                                 published=dm == 1.0 and w in PUBLISHED_WIDTHS[arch],
                                 snippet=f"backbone=dict(type='ReXNet', arch='{arch}', "
                                         f"widen_factor={w}, depth_mult={dm})"))
    return rows


def rexnet_candidates(flops, params=None, archs=('v1', 'lite'), top=5, tolerance=0.05):
    """The ``top`` ReXNets of :func:`rexnet_space` nearest to the budget (relative
    distance in log space); the published widths within ``tolerance`` of the budget
    come first."""
    return rank_candidates(rexnet_space(archs), flops, params, tolerance)[:top]


#: pycls' group widths (the zoo uses 8-232)
GROUP_WIDTHS = (1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 96, 112, 120, 128, 168, 232)


def sample_regnets(num, se=False, seed=0):
    """``num`` random points of the RegNet design space with 4 stages (the paper's
    sampling, quantized like the zoo's parameters: w0 a multiple of 8, wa and wm to two
    decimals)."""
    rng = random.Random(seed)
    out = []
    while len(out) < num:
        w0 = 8 * rng.randint(1, 32)
        wa = round(rng.uniform(8, 256), 2)
        wm = round(math.exp(rng.uniform(math.log(1.5), math.log(3.0))), 2)
        depth = rng.randint(12, 28)
        gw = rng.choice(GROUP_WIDTHS)
        plan = arch_stages(dict(w0=w0, wa=wa, wm=wm, depth=depth, group_w=gw,
                                se_ratio=0.25 if se else 0.0))
        if len(plan['widths']) != 4:
            continue
        out.append((dict(w0=w0, wa=wa, wm=wm, depth=depth, group_w=gw), plan))
    return out


def regnet_space(se=False, samples=20000, seed=0, with_zoo=True):
    """``samples`` random design-space points (:func:`sample_regnets`) and the pycls zoo
    of that family (marked ``zoo``), as rows."""
    points = [(None, p, plan) for p, plan in sample_regnets(samples, se, seed)]
    if with_zoo:
        prefix = 'regnety_' if se else 'regnetx_'
        for name, a in REGNET_ARCHS.items():
            if name.startswith(prefix):
                points.append((name, {k: a[k] for k in ('w0', 'wa', 'wm', 'depth', 'group_w')},
                               arch_stages(name)))
    rows = []
    for name, p, plan in points:
        n_params, n_flops = regnet_cost(plan)
        arch = dict(p, se_ratio=0.25) if se else p
        rows.append(dict(family='RegNetY' if se else 'RegNetX', zoo=name, published=bool(name),
                         params=n_params,
                         flops=n_flops, stage_widths=plan['widths'], depths=plan['depths'],
                         group_widths=plan['group_widths'], arch=arch,
                         snippet=f"backbone=dict(type='PyclsRegNet', arch={name!r})" if name
                         else f"backbone=dict(type='PyclsRegNet', arch={arch})"))
    return rows


def regnet_candidates(flops, params=None, se=False, samples=20000, seed=0, top=5,
                      with_zoo=True, tolerance=0.05):
    """The ``top`` RegNets nearest to the budget among ``samples`` random design-space
    points and the pycls zoo of that family (marked ``zoo``; those within ``tolerance``
    of the budget come first)."""
    return rank_candidates(regnet_space(se, samples, seed, with_zoo), flops, params,
                           tolerance)[:top]


def format_rows(rows):
    """Markdown table of candidates."""
    lines = ['| model | params (M) | GFLOPs | stage widths | depths | config |',
             '|---|---|---|---|---|---|']
    for r in rows:
        if r['family'] == 'ReXNet':
            name = f"ReXNet-{r['arch']} x{r['widen_factor']} d{r['depth_mult']}" + (
                ' (published)' if r['published'] else '')
            depths = '-'
        else:
            name = f"{r['family']} {r['zoo'] or 'sampled'}"
            depths = ','.join(map(str, r['depths']))
        lines.append(f"| {name} | {r['params'] / 1e6:.2f} | {r['flops'] / 1e9:.3f} | "
                     f"{','.join(map(str, r['stage_widths']))} | {depths} | `{r['snippet']}` |")
    return '\n'.join(lines)
