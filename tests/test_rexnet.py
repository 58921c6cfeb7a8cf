"""ReXNet V1 and lite against timm, the authors' layout and the paper's numbers.

Independent references used here:
* timm's ``RexNet`` (the reference implementation users compare with) on identical,
  fully randomised weights (BN statistics and affine parameters included);
* ``authors_rexnet`` below, a re-statement of the authors' ``features``/``out``
  ``nn.Sequential`` network from docs/reference.md, for the authors' key layout and for
  ReXNet-lite (which timm does not have);
* the parameter/MAC counts and tap channels of docs/reference.md (from the paper and the
  authors' released models).
"""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.complexity import conv_fc_macs, count_params
from rexnet_mm.weights import (CheckpointError, convert_state_dict, save_checkpoint)
from rexnet_mm.weights.rexnet import to_layout
from rexnet_mm.models.backbones.rexnet import ReXNet, rexnet_block_widths
from rexnet_mm.models.classifiers import build_rexnet_classifier
from rexnet_mm.analysis.parity import (PARITY_RTOL, REXNET_PAPER, meta_built, randomize_, rel_diff,
                                       rexnet_outputs,
                                       rexnet_timm_parity, timm_rexnet, timm_rexnet_outputs)

timm = pytest.importorskip('timm')

V1_WIDTHS = (0.9, 1.0, 1.3, 1.5, 2.0, 2.2, 3.0)
# docs/reference.md: params with the 1000-class head, MACs (conv+fc) at 224x224
V1_PARAMS, V1_MACS, LITE_PARAMS, LITE_MACS = (
    {w: v[i] for (a, w), v in REXNET_PAPER.items() if a == arch and v[i] is not None}
    for arch in ('v1', 'lite') for i in (0, 1))
TAPS = {1.0: (38, 61, 128, 185), 1.3: (50, 79, 167, 240), 1.5: (58, 92, 193, 277),
        2.0: (77, 122, 257, 370), 3.0: (116, 183, 386, 554)}


def classifier_from(state_dict, width, arch='v1'):
    model = build_rexnet_classifier(widen_factor=width, arch=arch)
    converted, fmt = convert_state_dict(state_dict, 'rexnet')
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert not unexpected and not [k for k in missing if 'num_batches' not in k], \
        (missing, unexpected)
    return model.eval(), fmt


# --------------------------------------------------------------------------- channels

def test_channel_plan_matches_reference():
    _, v1, head = rexnet_block_widths(1.0, 'v1')
    assert v1 == [16, 27, 38, 50, 61, 72, 84, 95, 106, 117, 128, 140, 151, 162, 174, 185]
    assert head == 1280
    _, lite, head = rexnet_block_widths(1.0, 'lite')
    assert lite == [16, 32, 40, 48, 64, 72, 80, 96, 104, 112, 128, 136, 144, 160, 168, 184]
    assert head == 1280
    for width, taps in TAPS.items():  # strides 4, 8, 16, 32 are stages 1, 2, 4, 5
        model = ReXNet(widen_factor=width, out_indices=(1, 2, 4, 5, 6))
        assert model.out_channels[:4] == taps
        assert model.out_channels[4] == int(1280 * width)
        assert [c for c, _ in model.feature_info] == [
            rexnet_block_widths(width)[1][i] for i in (0, 2, 4, 7, 10, 15)] + [int(1280 * width)]


@pytest.mark.parametrize('arch', ['v1', 'lite'])
def test_tap_strides(arch):
    model = ReXNet(arch=arch, out_indices=tuple(range(7))).eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 64, 96))
    assert [(o.shape[2], o.shape[3]) for o in outs] == [(32, 48), (16, 24), (8, 12), (4, 6),
                                                        (4, 6), (2, 3), (2, 3)]
    assert [64 // o.shape[2] for o in outs] == [s for _, s in model.feature_info]
    assert tuple(o.shape[1] for o in outs) == model.out_channels


# --------------------------------------------------------------------- params and MACs

@pytest.mark.slow
@pytest.mark.parametrize('width', sorted(V1_PARAMS))
def test_v1_params_equal_paper(width):
    n = count_params(build_rexnet_classifier(widen_factor=width))
    expected = V1_PARAMS[width]
    if isinstance(expected, int):
        assert n == expected
    else:  # given to 0.01M in the paper
        assert round(n / 1e6, 2) == round(expected / 1e6, 2)


@pytest.mark.parametrize('width', sorted(LITE_PARAMS))
def test_lite_params_equal_paper(width):
    n = count_params(build_rexnet_classifier(widen_factor=width, arch='lite'))
    assert round(n / 1e6, 2) == round(LITE_PARAMS[width] / 1e6, 2)


@pytest.mark.parametrize('arch,width', [('v1', w) for w in V1_WIDTHS] +
                         [('lite', w) for w in sorted(LITE_MACS)])
@pytest.mark.slow
def test_macs_within_one_percent(arch, width):
    model = build_rexnet_classifier(widen_factor=width, arch=arch).eval()
    expected = (V1_MACS if arch == 'v1' else LITE_MACS)[width]
    assert abs(conv_fc_macs(model) / expected - 1) < 0.01


# ------------------------------------------------------------------------ timm parity

@pytest.mark.slow
@pytest.mark.parity
@pytest.mark.parametrize('width', V1_WIDTHS)
def test_timm_parity(width):
    result = rexnet_timm_parity(width, seed=int(width * 10))
    assert result['format'] == 'rexnet_timm'
    assert result['logits_scale'] > 1.0  # not a degenerate comparison
    assert len(result['taps']) == 7  # every stage and the head conv
    assert result['rel'] <= PARITY_RTOL  # logits and every tap, relative to their scale


@pytest.mark.parity
def test_parity_tolerance_catches_a_one_percent_weight_change():
    """PARITY_RTOL is sharp: 1% more on the weight tensor whose change moves ReXNet-1.0's
    outputs least (an SE conv; measured over all 76 weight tensors) fails the check."""
    ref = randomize_(timm_rexnet(1.0), seed=10)
    model = build_rexnet_classifier(widen_factor=1.0).eval()
    model.load_state_dict(convert_state_dict(ref.state_dict(), 'rexnet')[0])
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        expected = [ref(x), *timm_rexnet_outputs(ref, x)[1]]
        model.backbone.layer5[1].se.fc2.weight.mul_(1.01)
        logits, taps = rexnet_outputs(model, x)
    change = max(rel_diff(a, b) for a, b in zip([logits, *taps], expected))
    print(f'\nReXNet-1.0, 1% on layer5.1.se.fc2: {change:.1e} relative')
    assert change > 3 * PARITY_RTOL


def test_timm_and_authors_have_413_tensors_at_every_width():
    for width in (0.9, 1.0, 3.0):
        sd = timm_rexnet(width).state_dict()
        assert len(sd) == 413
        assert len(to_layout(convert_state_dict(sd)[0], 'authors')) == 413


# ------------------------------------------------------ the authors' network and layout

def authors_channels(width, arch='v1'):
    """``(stem, [(in, out) per block], head)`` written out from the channel loops of the
    authors' rexnetv1.py / rexnetv1_lite.py (docs/reference.md), not from our code."""
    def lite_div(v):  # _make_divisible(v, 8)
        new = max(8, int(v + 4) // 8 * 8)
        return new + 8 if new < 0.9 * v else new

    rnd = (lambda v: int(round(v))) if arch == 'v1' else (lambda v: lite_div(int(round(v))))
    small = width < 1.0
    inplanes, stem = (16 / width, 32 / width) if small else (16, 32)
    step = 180 / 16 if arch == 'v1' else 164 / 15
    blocks = [(rnd(stem * width), rnd(inplanes * width))]
    for _ in range(15):
        cin = rnd(inplanes * width)
        inplanes += step
        blocks.append((cin, rnd(inplanes * width)))
    head = int(1280 * width) if arch == 'v1' or width > 1.0 else 1280
    return rnd(stem * width), blocks, head


def authors_rexnet(width, arch='v1', classes=1000):
    """The authors' module structure (docs/reference.md): ``features`` and ``output``."""
    stem, blocks, head = authors_channels(width, arch)
    act = nn.SiLU if arch == 'v1' else nn.ReLU6
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]

    def conv(out, cin, cout, k=1, s=1, groups=1, activation=None):
        out += [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout)]
        if activation:
            out.append(activation())

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc = nn.Sequential(nn.Conv2d(c, c // 12, 1), nn.BatchNorm2d(c // 12),
                                    nn.ReLU(), nn.Conv2d(c // 12, c, 1), nn.Sigmoid())

        def forward(self, x):
            return x * self.fc(x.mean((2, 3), keepdim=True))

    class Block(nn.Module):
        def __init__(self, cin, cout, t, s, se):
            super().__init__()
            out, mid = [], cin * t
            if t != 1:
                conv(out, cin, mid, activation=act)
            if arch == 'v1':
                conv(out, mid, mid, 3, s, mid)
                out += ([SE(mid)] if se else []) + [nn.ReLU6()]
            else:
                conv(out, mid, mid, 3, s, mid, activation=nn.ReLU6)
            conv(out, mid, cout)
            self.out = nn.Sequential(*out)
            self.cin, self.shortcut = cin, s == 1 and cin <= cout

        def forward(self, x):
            out = self.out(x)
            if self.shortcut:
                out[:, :self.cin] += x
            return out

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            features = []
            conv(features, 3, stem, 3, 2, activation=act)
            for i, ((cin, cout), s) in enumerate(zip(blocks, strides)):
                features.append(Block(cin, cout, 1 if i == 0 else 6, s,
                                      arch == 'v1' and i >= 3))
            conv(features, blocks[-1][1], head, activation=act)
            self.features = nn.Sequential(*features, nn.AdaptiveAvgPool2d(1))
            self.output = nn.Sequential(nn.Dropout(0.2), nn.Conv2d(head, classes, 1)) \
                if arch == 'v1' else nn.Sequential(
                    nn.Conv2d(head, 1024, 1), nn.BatchNorm2d(1024), nn.ReLU6(),
                    nn.Dropout(0.2), nn.Conv2d(1024, classes, 1))

        def forward(self, x):
            return self.output(self.features(x)).flatten(1)

    return Net()


@pytest.mark.parity
@pytest.mark.parametrize('arch,width', [('v1', 1.0), ('v1', 2.2), ('lite', 1.0),
                                        ('lite', 1.5)])
def test_authors_layout_parity(arch, width):
    ref = randomize_(authors_rexnet(width, arch), seed=3)
    # conv+BN units hold 6 tensors: stem 6, block 0 12, blocks 1-15 18 each, head conv 6;
    # v1 adds SE (9 each, blocks 3-15) and a 1x1-conv classifier (2): 413; lite has no SE
    # and a conv-BN-conv classifier (9): 303, at every width
    assert len(ref.state_dict()) == (413 if arch == 'v1' else 303)
    model, fmt = classifier_from(ref.state_dict(), width, arch)
    assert fmt == 'rexnet_authors'
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = ref(x)
        got = model(x, mode='tensor')
    assert expected.abs().max() > 1.0  # not a degenerate comparison
    diff = rel_diff(got, expected)
    print(f'ReXNet {arch} {width} vs the authors\' structure: {diff:.1e} of the scale')
    assert diff <= PARITY_RTOL
    # and back: our layout -> authors' layout reproduces the file key for key
    back = to_layout(model.state_dict(), 'authors')
    assert list(back) == list(ref.state_dict())
    for k, v in ref.state_dict().items():
        assert torch.equal(back[k], v), k


def test_timm_to_authors_ordered_remap_matches_converter():
    """REFERENCE: the two layouts hold the same 413 tensors in the same order."""
    ref = randomize_(timm_rexnet(1.0))
    authors_keys = list(authors_rexnet(1.0).state_dict())
    by_order = dict(zip(authors_keys, ref.state_dict().values()))
    via_converter = to_layout(convert_state_dict(ref.state_dict())[0], 'authors')
    assert list(via_converter) == authors_keys
    for k in authors_keys:
        assert torch.equal(by_order[k].reshape(via_converter[k].shape), via_converter[k]), k


# ------------------------------------------------------------- checkpoints via init_cfg

def test_pretrained_init_cfg_loads_timm_file(tmp_path):
    ref = randomize_(timm_rexnet(1.0))
    path = tmp_path / 'rexnet_100_timm.pth'
    torch.save(ref.state_dict(), path)
    backbone = ReXNet(out_indices=(6,), init_cfg=dict(type='Pretrained',
                                                      checkpoint=str(path)))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _, feats = timm_rexnet_outputs(ref, x)
        assert rel_diff(backbone(x)[0], feats[-1]) <= PARITY_RTOL


def test_wrong_width_names_both(tmp_path):
    path = tmp_path / 'rexnet_150.pth'
    torch.save(timm_rexnet(1.5).state_dict(), path)
    backbone = ReXNet(widen_factor=1.0, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match=r'ReXNet-1\.5 \(v1\).*ReXNet-1 \(v1\)'):
        backbone.init_weights()


def test_lite_checkpoint_into_v1_names_both(tmp_path):
    path = tmp_path / 'lite.pth'
    torch.save(authors_rexnet(1.0, 'lite').state_dict(), path)
    backbone = ReXNet(widen_factor=1.0, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match=r'ReXNet-1 \(lite\).*ReXNet-1 \(v1\)'):
        backbone.init_weights()


def test_bad_checkpoint_files(tmp_path):
    backbone = ReXNet(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'nope.pth')))
    with pytest.raises(FileNotFoundError, match='convert_checkpoint'):
        backbone.init_weights()
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'not a checkpoint')
    backbone = ReXNet(init_cfg=dict(type='Pretrained', checkpoint=str(corrupt)))
    with pytest.raises(CheckpointError, match='cannot read checkpoint'):
        backbone.init_weights()
    other = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(1), 'fc.weight': torch.zeros(1)}, other)
    backbone = ReXNet(init_cfg=dict(type='Pretrained', checkpoint=str(other)))
    with pytest.raises(CheckpointError, match='unrecognised checkpoint layout'):
        backbone.init_weights()
    assert corrupt.read_bytes() == b'not a checkpoint'  # never touched


def test_unknown_arch_and_bad_arguments():
    with pytest.raises(KeyError, match="use one of \\['lite', 'v1'\\]"):
        ReXNet(arch='v2')
    with pytest.raises(ValueError, match='out_indices'):
        ReXNet(out_indices=(7,))
    with pytest.raises(ValueError, match='frozen_stages'):
        ReXNet(frozen_stages=8)


# --------------------------------------------------------------------------- knobs

def test_frozen_stages():
    model = ReXNet(frozen_stages=3, out_indices=tuple(range(7)))
    model.train()
    frozen = [model.conv1, model.layer1, model.layer2, model.layer3]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not b.training for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    for m in (model.layer4, model.layer5, model.layer6, model.conv2):
        assert all(p.requires_grad for p in m.parameters())
        assert all(b.training for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert model.layer4[0].conv_pwl.conv.weight.grad is not None


def test_trailing_modules_are_not_run_or_trained():
    model = ReXNet(out_indices=(1, 2))
    model.train()
    assert all(not p.requires_grad for n in ('layer4', 'layer5', 'layer6', 'conv2')
               for p in getattr(model, n).parameters())
    assert model.layer3[0].conv_dw.conv.weight.requires_grad


def test_norm_eval_keeps_statistics():
    model = ReXNet(norm_eval=True)
    randomize_(model)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = sum(o.mean() for o in model(torch.randn(2, 3, 64, 64)))
    loss.backward()
    opt.step()
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    # and without norm_eval the same step does move them
    model = ReXNet(norm_eval=False)
    randomize_(model)
    model.train()
    model(torch.randn(2, 3, 64, 64))
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = ReXNet(out_indices=(2, 5))
    cpd = ReXNet(out_indices=(2, 5), with_cp=True)
    cpd.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for model in (plain, cpd):
        model.train()
        xi = x.clone().requires_grad_(True)
        outs = model(xi)
        sum((o ** 2).mean() for o in outs).backward()
        grads.append((outs, xi.grad, model.layer2[0].conv_exp.conv.weight.grad))
    (o1, gx1, gw1), (o2, gx2, gw2) = grads
    # the same kernels recompute the same values: equal up to float32 rounding
    for a, b in zip(o1, o2):
        assert rel_diff(a, b) <= PARITY_RTOL
    assert rel_diff(gx1, gx2) <= PARITY_RTOL and rel_diff(gw1, gw2) <= PARITY_RTOL


@pytest.mark.parametrize('registry_module', ['mmdet.registry', 'mmseg.registry',
                                             'mmpretrain.registry'])
def test_builds_from_every_toolbox_registry(registry_module):
    from importlib import import_module
    registry = import_module(registry_module).MODELS
    for type_name in ('ReXNet', 'rexnet_mm.ReXNet'):
        model = registry.build(ConfigDict(type=type_name, widen_factor=1.3, arch='lite',
                                          out_indices=(4, 5)))
        assert isinstance(model, ReXNet)
        assert model.arch == 'lite' and model.widen_factor == 1.3
        assert model.out_channels == tuple(model.feature_info[i][0] for i in (4, 5))


def test_converted_checkpoint_round_trip(tmp_path):
    ref = randomize_(timm_rexnet(1.3))
    converted, _ = convert_state_dict(ref.state_dict())
    path = tmp_path / 'ours.pth'
    save_checkpoint(converted, str(path), meta=dict(arch='v1', widen_factor=1.3))
    model, fmt = classifier_from(torch.load(path)['state_dict'], 1.3)
    assert fmt == 'rexnet_mm'
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert rel_diff(model(x, mode='tensor'), ref(x)) <= PARITY_RTOL


# ------------------------------------------------------------------------- dilation

@pytest.mark.slow
@pytest.mark.parity
@pytest.mark.parametrize('output_stride', [8, 16])
def test_dilated_rexnet_equals_timm(output_stride):
    """output_stride 8/16 removes the later strides and dilates the depthwise convs
    instead, exactly as timm's RexNet(output_stride=...) does: same logits and stages."""
    ref = randomize_(meta_built(timm.models.rexnet.RexNet, width_mult=1.0,
                                output_stride=output_stride), seed=output_stride)
    model = build_rexnet_classifier(1.0, output_stride=output_stride).eval()
    model.load_state_dict(convert_state_dict(ref.state_dict(), 'rexnet')[0], strict=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref_logits, ref_feats = timm_rexnet_outputs(ref, x)
        logits, feats = rexnet_outputs(model, x)
    rel = max(rel_diff(a, b) for a, b in zip([logits, *feats], [ref_logits, *ref_feats]))
    print(f'\nReXNet-1.0 output stride {output_stride} vs timm: {rel:.1e} relative')
    assert rel <= PARITY_RTOL
    strides = [s for _, s in model.backbone.feature_info]
    assert strides == [min(s, output_stride) for s in (2, 4, 8, 16, 16, 32, 32)]
    assert [64 // f.shape[-1] for f in feats] == strides
    with pytest.raises(ValueError, match='output_stride must be 8, 16 or 32'):
        ReXNet(output_stride=4)


# ----------------------------------------------------------------------- depth multiplier

@pytest.mark.slow
@pytest.mark.parity
@pytest.mark.parametrize('depth_mult,width', [(0.5, 1.0), (1.3, 0.9)])
def test_depth_mult_equals_timm(depth_mult, width):
    """``depth_mult`` gives ceil(n * depth_mult) blocks per stage and the channel plan over
    them, as timm's RexNet(depth_mult=...) does. timm's tensors are loaded in module
    order (independently of the converter): any difference in the number, order or
    shape of the blocks fails ``load_state_dict``; the outputs prove the rest. The
    converter then infers the same plan from the tensors alone."""
    ref = randomize_(meta_built(timm.models.rexnet.RexNet, width_mult=width,
                                depth_mult=depth_mult), seed=7)
    model = build_rexnet_classifier(width, depth_mult=depth_mult).eval()
    ours = model.state_dict()
    theirs = [v for k, v in ref.state_dict().items()]
    assert len(ours) == len(theirs)
    model.load_state_dict({k: v.view(ours[k].shape) for k, v in zip(ours, theirs)}, strict=True)
    depths = [math.ceil(n * depth_mult) for n in (1, 2, 2, 3, 3, 5)]
    assert [len(getattr(model.backbone, f'layer{i + 1}')) for i in range(6)] == depths
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref_logits, ref_feats = timm_rexnet_outputs(ref, x, depth_mult)
        logits, feats = rexnet_outputs(model, x)
    assert rel_diff(logits, ref_logits) <= PARITY_RTOL
    assert len(feats) == len(ref_feats) == 7
    for a, b in zip(feats, ref_feats):
        assert rel_diff(a, b) <= PARITY_RTOL
    # the converter infers this plan from the tensors: the same tensors in the same places
    converted, _ = convert_state_dict(ref.state_dict(), 'rexnet')
    assert list(converted) == list(ours)
    assert all(torch.equal(converted[k], v) for k, v in model.state_dict().items())


# -------------------------------------------------------------------- explicit channel plans

def _same_model(a, b):
    """b takes a's weights strictly (same tensors, same shapes) and gives its outputs."""
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return all(torch.equal(p, q) for p, q in zip(a.eval()(x), b.eval()(x)))


@pytest.mark.slow
@pytest.mark.parametrize('arch,width', [('v1', 1.0), ('v1', 1.3), ('lite', 1.5)])
def test_published_plans_are_instances_of_the_linear_rule(arch, width):
    """The rule's parameters given explicitly (a dict) and the per-block widths given
    explicitly build the published model: same block table, same tensors, same outputs."""
    from rexnet_mm.models.backbones.rexnet import ARCH_SETTINGS, rexnet_blocks
    taps = dict(out_indices=tuple(range(7)))
    named = ReXNet(width, arch, **taps)
    rule = ReXNet(width, dict(ARCH_SETTINGS[arch]), **taps)
    assert rexnet_blocks(width, dict(ARCH_SETTINGS[arch])) == rexnet_blocks(width, arch)
    assert _same_model(named, rule)
    stem, widths, head = rexnet_block_widths(width, arch)
    setting = ARCH_SETTINGS[arch]
    plan = dict(block_widths=widths, stem_ch=stem, head_ch=head, se=setting['se'],
                act_cfg=setting['act_cfg'])
    explicit = ReXNet(1.0, plan, **taps)
    assert explicit.feature_info == named.feature_info
    assert _same_model(named, explicit)


def test_a_plan_of_ones_own(tmp_path):
    """Another slope (final_ch 240): block i gets round(16 + i * 240 / 16) channels, the
    taps follow; its checkpoint is refused by a published ReXNet, naming both plans."""
    from rexnet_mm.models.backbones.rexnet import ARCH_SETTINGS
    rule = dict(ARCH_SETTINGS['v1'], final_ch=240)
    _, widths, _ = rexnet_block_widths(1.0, rule)
    assert widths == [round(16 + i * 240 / 16) for i in range(16)]
    model = ReXNet(1.0, rule, out_indices=tuple(range(7)))
    assert [c for c, _ in model.feature_info] == [widths[i] for i in (0, 2, 4, 7, 10, 15)] + [1280]
    path = tmp_path / 'own_plan.pth'
    torch.save(model.state_dict(), path)
    published = ReXNet(1.0, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match=r'widths \[16, 31, 46.*but the model is ReXNet-1 \(v1\)'):
        published.init_weights()
    with pytest.raises(KeyError, match=r"missing keys \['head_min_mult'\]"):
        ReXNet(arch={k: v for k, v in rule.items() if k != 'head_min_mult'})
    with pytest.raises(ValueError, match='one per block'):
        ReXNet(arch=dict(block_widths=[16] * 15, stem_ch=32, head_ch=1280, se=True,
                         act_cfg=dict(type='SiLU')))
