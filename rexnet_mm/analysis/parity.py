"""Parity against independent implementations: random weights, reference models and the
comparisons that tools/analysis/*_report.py print and the tests assert (not used by
training or inference)."""
import torch

from ..numerics import max_diff, rel_diff  # noqa: F401 (rel_diff: for the tests)


def randomize_(model, seed=0, bn_scale=1.5, shift=None, residual_bn=(),
               residual_scale=(0.2, 0.6)):
    """Every float parameter and buffer (BN statistics included) random, deterministically.

    Conv/linear weights are variance-preserving; BN scales are drawn from
    ``[0.5, 0.5 + bn_scale]`` so that activations cross ReLU6's clip and a wrong
    activation, a swapped BN or a missing shortcut shows in the outputs, while
    outputs stay O(10) and float32 rounding stays ~1e-6 (ReXNet). Deep residual
    networks need smaller scales and shifts: RegNets use :data:`REGNET_RANDOM`.
    Returns the model in eval mode.

    Args:
        shift (float, optional): BN shifts, running means and conv/linear biases are
            drawn from ``N(0, 1)`` (None) or from ``[-shift, shift]``.
        residual_bn (tuple[str]): name endings of the BNs that close a residual branch
            (e.g. ``('conv3.bn', 'bn3')`` for RegNet); their scales are drawn from
            ``residual_scale`` instead, so that a deep stack of random residual blocks
            stays well-conditioned while any wrong tensor still moves outputs by O(1).
    """
    g = torch.Generator().manual_seed(seed)
    lo, hi = residual_scale
    residual_bn = (residual_bn,) if isinstance(residual_bn, str) else tuple(residual_bn)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point():
                t.zero_()  # num_batches_tracked
            elif t.dim() == 1 and name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 1 and name.endswith('weight'):  # BN scale
                if name.rpartition('.')[0].endswith(residual_bn):
                    t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)
                else:
                    t.copy_(torch.rand(t.shape, generator=g) * bn_scale + 0.5)
            elif t.dim() == 1:  # BN shift and mean, conv/linear biases
                t.copy_(torch.randn(t.shape, generator=g) if shift is None else
                        (torch.rand(t.shape, generator=g) * 2 - 1) * shift)
            else:
                t.copy_(torch.randn(t.shape, generator=g) / t[0].numel() ** 0.5)
    model.eval()  # (mmdet's ResNet.train returns None)
    return model


def random_image(size=64, batch=1, seed=1):
    """A deterministic ``batch x 3 x size x size`` N(0, 1) input."""
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


#: Parity tolerance of two float32 implementations of one network, relative to the
#: reference output's largest magnitude (:func:`rexnet_mm.numerics.rel_diff`). The two
#: sum the same products in different orders (other kernels, thread counts, SIMD widths), so they
#: differ by float32 rounding: eps = 1.2e-7 per operation, growing with depth and
#: accumulation length to at most 1e-6 of the output scale on every model and
#: numerics setting measured (2 or 1 threads, MKL/oneDNN capped at AVX2 or SSE4).
#: 1e-5 leaves a 10x margin for other CPUs, and stays below what a 1% change of any
#: single weight tensor does to the compared outputs (4.5e-5 for the weakest, an SE
#: conv of RegNetY-1.6GF; 9e-4 for ReXNet-1.0), which tests/test_*parity* check.
PARITY_RTOL = 1e-5


def meta_built(build, *args, **kwargs):
    """``build(*args, **kwargs)`` on the meta device, then made real (uninitialised) on
    the CPU: timm's own init is slow and the callers overwrite every tensor."""
    with torch.device('meta'):
        model = build(*args, **kwargs)
    model = model.to_empty(device='cpu')
    for name, buf in model.named_buffers():
        if name.endswith('num_batches_tracked'):
            buf.zero_()
    return model


# --------------------------------------------------------------------------------- ReXNet
#: The ReXNet paper's and the authors' numbers (docs/reference.md, "ReXNet"):
#: (arch, width) -> (parameters of the 1000-class classifier: an int where exact, a float
#: where only given to 0.01M, None where not given; conv + fc multiply-adds at 224x224).
REXNET_PAPER = {
    ('v1', 0.9): (None, 0.348e9), ('v1', 1.0): (4_796_873, 0.398e9),
    ('v1', 1.3): (7_557_091, 0.662e9), ('v1', 1.5): (9_728_593, 0.876e9),
    ('v1', 2.0): (16_366_620, 1.529e9), ('v1', 2.2): (19.49e6, 1.843e9),
    ('v1', 3.0): (34_708_792, 3.396e9),
    ('lite', 1.0): (4.74e6, 0.407e9), ('lite', 1.3): (6.75e6, 0.646e9),
    ('lite', 1.5): (8.33e6, 0.836e9), ('lite', 2.0): (12.97e6, 1.498e9),
}


def timm_rexnet(width):
    """timm's ReXNet at any width, uninitialised (see :func:`meta_built`)."""
    import timm
    names = {1.0: 'rexnet_100', 1.3: 'rexnet_130', 1.5: 'rexnet_150', 2.0: 'rexnet_200',
             3.0: 'rexnet_300'}
    if width in names:
        return meta_built(timm.create_model, names[width], pretrained=False)
    return meta_built(timm.models.rexnet.RexNet, width_mult=width)


def timm_rexnet_taps(depth_mult=1.0):
    """timm ``features[i]`` whose outputs are our ReXNet stages 0..6 (the last block of
    each stage, then the head conv)."""
    from ..models.backbones.rexnet import stage_depths
    ends, total = [], -1
    for depth in stage_depths(depth_mult):
        total += depth
        ends.append(total)
    return tuple(ends) + (total + 1,)


def timm_rexnet_outputs(model, x, depth_mult=1.0):
    """Logits and the seven stage outputs of a timm ReXNet."""
    feats = []
    hooks = [model.features[i].register_forward_hook(lambda m, i, o: feats.append(o))
             for i in timm_rexnet_taps(depth_mult)]
    try:
        logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return logits, feats


def rexnet_outputs(classifier, x):
    """Logits and all seven stage outputs of one of our ReXNet classifiers."""
    backbone = classifier.backbone
    saved = backbone.out_indices
    backbone.out_indices = tuple(range(len(backbone.stage_names)))
    try:
        feats = backbone(x)
    finally:
        backbone.out_indices = saved
    return classifier(x, mode='tensor'), feats


def rexnet_timm_parity(width, seed=0, size=64, batch=2):
    """Max |diff| of logits and of each tap between timm and ours on timm's random weights."""
    from ..models.classifiers import build_rexnet_classifier
    from ..weights import convert_state_dict
    ref = randomize_(timm_rexnet(width), seed=seed)
    model = build_rexnet_classifier(widen_factor=width).eval()
    converted, fmt = convert_state_dict(ref.state_dict(), 'rexnet')
    model.load_state_dict(converted, strict=True)
    x = random_image(size, batch, seed=seed + 1)
    with torch.no_grad():
        ref_logits, ref_feats = timm_rexnet_outputs(ref, x)
        logits, feats = rexnet_outputs(model, x)
    return dict(format=fmt, logits_scale=ref_logits.abs().max().item(),
                logits=max_diff(logits, ref_logits),
                taps=[max_diff(ours, theirs) for ours, theirs in zip(feats, ref_feats)],
                rel=max([rel_diff(logits, ref_logits)] +
                        [rel_diff(a, b) for a, b in zip(feats, ref_feats)]))


# --------------------------------------------------------------------------------- RegNet
#: The pycls model zoo as listed in docs/reference.md (pycls MODEL_ZOO.md, "RegNetX" and
#: "RegNetY" tables): timm name, stage widths, stage depths, GFLOPs at 224x224 and
#: parameters in millions (with the 1000-class FC).
REGNET_ZOO = {
    'regnetx_200mf': ('regnetx_002', (24, 56, 152, 368), (1, 1, 4, 7), 0.199, 2.685),
    'regnetx_400mf': ('regnetx_004', (32, 64, 160, 384), (1, 2, 7, 12), 0.398, 5.158),
    'regnetx_600mf': ('regnetx_006', (48, 96, 240, 528), (1, 3, 5, 7), 0.601, 6.196),
    'regnetx_800mf': ('regnetx_008', (64, 128, 288, 672), (1, 3, 7, 5), 0.800, 7.260),
    'regnetx_1.6gf': ('regnetx_016', (72, 168, 408, 912), (2, 4, 10, 2), 1.603, 9.190),
    'regnetx_3.2gf': ('regnetx_032', (96, 192, 432, 1008), (2, 6, 15, 2), 3.177, 15.297),
    'regnetx_4.0gf': ('regnetx_040', (80, 240, 560, 1360), (2, 5, 14, 2), 3.964, 22.118),
    'regnetx_6.4gf': ('regnetx_064', (168, 392, 784, 1624), (2, 4, 10, 1), 6.460, 26.209),
    'regnetx_8.0gf': ('regnetx_080', (80, 240, 720, 1920), (2, 5, 15, 1), 7.995, 39.573),
    'regnetx_12gf': ('regnetx_120', (224, 448, 896, 2240), (2, 5, 11, 1), 12.087, 46.106),
    'regnetx_16gf': ('regnetx_160', (256, 512, 896, 2048), (2, 6, 13, 1), 15.941, 54.279),
    'regnetx_32gf': ('regnetx_320', (336, 672, 1344, 2520), (2, 7, 13, 1), 31.736, 107.812),
    'regnety_200mf': ('regnety_002', (24, 56, 152, 368), (1, 1, 4, 7), 0.200, 3.163),
    'regnety_400mf': ('regnety_004', (48, 104, 208, 440), (1, 3, 6, 6), 0.402, 4.344),
    'regnety_600mf': ('regnety_006', (48, 112, 256, 608), (1, 3, 7, 4), 0.601, 6.055),
    'regnety_800mf': ('regnety_008', (64, 128, 320, 768), (1, 3, 8, 2), 0.797, 6.263),
    'regnety_1.6gf': ('regnety_016', (48, 120, 336, 888), (2, 6, 17, 2), 1.612, 11.202),
    'regnety_3.2gf': ('regnety_032', (72, 216, 576, 1512), (2, 5, 13, 1), 3.176, 19.436),
    'regnety_4.0gf': ('regnety_040', (128, 192, 512, 1088), (2, 6, 12, 2), 3.973, 20.647),
    'regnety_6.4gf': ('regnety_064', (144, 288, 576, 1296), (2, 7, 14, 2), 6.355, 30.583),
    'regnety_8.0gf': ('regnety_080', (168, 448, 896, 2016), (2, 4, 10, 1), 7.963, 39.180),
    'regnety_12gf': ('regnety_120', (224, 448, 896, 2240), (2, 5, 11, 1), 12.092, 51.823),
    'regnety_16gf': ('regnety_160', (224, 448, 1232, 3024), (2, 4, 11, 1), 15.912, 83.590),
    'regnety_32gf': ('regnety_320', (232, 696, 1392, 3712), (2, 5, 12, 1), 32.280, 145.047),
}

#: :func:`randomize_` arguments for RegNets (timm's, mmdet's, mmpretrain's and ours):
#: BN scales 0.5-1.5, those closing a residual branch (timm ``conv3.bn``, mmdet/ours
#: ``bn3``) 0.2-0.6, shifts and biases within +-0.2, so that 20+ random residual blocks
#: stay well-conditioned and float32 rounding (the BGR flip reorders the stem's sums)
#: stays ~1e-6 (logits std ~0.6). With the defaults, activations grow to ~1e3 over the
#: blocks and timm-vs-ours rounding reaches 1e-4..6e-2.
REGNET_RANDOM = dict(bn_scale=1.0, shift=0.2, residual_bn=('conv3.bn', 'bn3'))


def timm_regnet(name, seed=0):
    """timm's RegNet ``name`` (timm's name, e.g. ``regnety_002``) with random weights
    (:data:`REGNET_RANDOM`)."""
    import timm
    model = meta_built(timm.create_model, name, pretrained=False)
    return randomize_(model, seed, **REGNET_RANDOM)


def timm_regnet_outputs(model, x):
    """Logits and the four stage outputs (s1..s4) of a timm RegNet, in one pass."""
    final, stages = model.forward_intermediates(x, indices=[1, 2, 3, 4])
    return model.forward_head(final), stages


def regnet_outputs(model, backbone, *args, **kwargs):
    """``(model(*args, **kwargs), [the four stage outputs of backbone])`` in one pass,
    whatever the backbone's out_indices."""
    outs = []
    hooks = [getattr(backbone, f'layer{i}').register_forward_hook(
        lambda mod, inp, out: outs.append(out)) for i in range(1, 5)]
    try:
        result = model(*args, **kwargs)
    finally:
        for h in hooks:
            h.remove()
    return result, outs


def regnet_timm_pair(arch, seed=None):
    """timm's model of a zoo ``arch`` with random weights (seed ``len(arch)`` unless
    given) and our classifier loaded from its converted state dict (strict).

    Returns ``(timm model, ours, format the converter detected)``, both in eval mode.
    """
    from ..models.classifiers import build_regnet_classifier
    from ..weights import convert_state_dict
    ref = timm_regnet(REGNET_ZOO[arch][0], seed=len(arch) if seed is None else seed)
    ours = build_regnet_classifier(arch).eval()
    state, fmt = convert_state_dict(ref.state_dict(), 'regnet')
    ours.load_state_dict(state, strict=True)
    return ref, ours, fmt


def regnet_timm_parity(ref, ours, x=None):
    """Max |diff| of logits and of the four stage outputs between a timm RegNet on ``x``
    (default :func:`random_image`) and our classifier on ``x`` flipped to BGR.

    Returns ``dict(logits, stages, stage_widths, logits_std)`` (``logits_std``: timm's,
    to show the random weights are not degenerate).
    """
    x = random_image() if x is None else x
    with torch.no_grad():
        ref_logits, ref_stages = timm_regnet_outputs(ref, x)
        logits, stages = regnet_outputs(ours, ours.backbone, x.flip(1), mode='tensor')
    return dict(logits=max_diff(logits, ref_logits),
                stages=[max_diff(a, b) for a, b in zip(stages, ref_stages)],
                rel=max([rel_diff(logits, ref_logits)] +
                        [rel_diff(a, b) for a, b in zip(stages, ref_stages)]),
                stage_widths=[a.shape[1] for a in stages],
                logits_std=ref_logits.std().item())


def regnet_mmdet_parity(arch, seed=3, x=None):
    """mmdet's ``RegNet(arch)`` with random weights, converted and loaded into ours.

    Returns ``dict(format, same_keys, stages)``: the format the converter detected,
    whether mmdet's state dict keys are ours (same order), and max |diff| per stage
    output on ``x`` (default :func:`random_image`; both BGR, no flip).
    """
    from mmdet.models.backbones import RegNet as MMDetRegNet
    from ..models.backbones.regnet import PyclsRegNet
    from ..weights import convert_state_dict
    ref = randomize_(MMDetRegNet(arch=arch), seed, **REGNET_RANDOM)
    mmdet_sd = ref.state_dict()
    state, fmt = convert_state_dict(mmdet_sd, 'regnet')
    ours = PyclsRegNet(arch).eval()
    same_keys = list(ours.state_dict()) == list(mmdet_sd)
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    x = random_image() if x is None else x
    with torch.no_grad():
        pairs = list(zip(ours(x), ref(x)))
    return dict(format=fmt, same_keys=same_keys, stages=[max_diff(a, b) for a, b in pairs],
                rel=max(rel_diff(a, b) for a, b in pairs))
