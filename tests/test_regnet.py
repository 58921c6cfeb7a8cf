"""RegNetX / RegNetY (pycls zoo) against timm, mmdet, the pycls layout and the zoo's numbers.

Independent references used here:
* timm's ``regnetx_*``/``regnety_*`` models on identical, fully randomised weights (BN
  statistics and affine parameters included): logits and the four stage outputs;
* mmdet 3.3.0's own ``RegNet`` (every arch in its ``arch_settings``): stage outputs;
* the pycls key layout written out below from docs/reference.md's description (not from
  our converter's table), for the pycls round trip;
* ``ZOO`` (``rexnet_mm.analysis.parity.REGNET_ZOO``): stage widths/depths, GFLOPs at 224x224
  and parameters (millions, with the 1000-class FC) of the pycls model zoo, as copied
  into docs/reference.md (pycls MODEL_ZOO.md, "RegNetX"/"RegNetY" tables).

Random weights come from ``randomize_(model, seed, **REGNET_RANDOM)``; the README's
table is printed by ``tools/analysis/regnet_report.py`` from the same helpers and seeds.

Channel order: our converted weights expect BGR (pycls/mmdet convention), timm's RGB,
so our models get ``x.flip(1)`` where timm gets ``x``.
"""
import re

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.complexity import count_params, flop_analyzer, pycls_flops
from rexnet_mm.weights import (CheckpointError, convert_state_dict, read_state_dict,
                                  save_checkpoint)
from rexnet_mm.weights.regnet import LAYOUTS, to_layout
from rexnet_mm.models.backbones.regnet import (ARCH_SETTINGS, PyclsRegNet, arch_stages,
                                               generate_regnet_widths)
from rexnet_mm.models.classifiers import build_regnet_classifier, regnet_classifier_cfg
from rexnet_mm.analysis.parity import REGNET_RANDOM, REGNET_ZOO as ZOO  # noqa: N811
from rexnet_mm.analysis.parity import (PARITY_RTOL, random_image as image, randomize_,
                                       regnet_mmdet_parity, regnet_timm_pair,
                                       regnet_timm_parity, rel_diff, timm_regnet,
                                       timm_regnet_outputs)

timm = pytest.importorskip('timm')


def close(a, b):
    """Equal up to float32 rounding, relative to ``b``'s scale (see PARITY_RTOL)."""
    return rel_diff(a, b) <= PARITY_RTOL


def timm_to_pycls(timm_sd):
    """pycls key layout from timm's tensors, written from docs/reference.md's description
    (``stem.conv``, ``s{i}.b{j}.f.{a,b,c}``, ``f.{a,b,c}_bn``, ``f.se.f_ex.{0,2}``,
    ``proj``/``bn`` shortcut, ``head.fc``) and pycls' BGR stem."""
    rules = [(r'\.conv1\.conv\.', '.f.a.'), (r'\.conv1\.bn\.', '.f.a_bn.'),
             (r'\.conv2\.conv\.', '.f.b.'), (r'\.conv2\.bn\.', '.f.b_bn.'),
             (r'\.conv3\.conv\.', '.f.c.'), (r'\.conv3\.bn\.', '.f.c_bn.'),
             (r'\.se\.fc1\.', '.f.se.f_ex.0.'), (r'\.se\.fc2\.', '.f.se.f_ex.2.'),
             (r'\.downsample\.conv\.', '.proj.'), (r'\.downsample\.bn\.', '.bn.')]
    out = {}
    for key, value in timm_sd.items():
        if key == 'stem.conv.weight':
            value = value.flip(1)  # RGB -> BGR
        elif re.match(r's\d\.b\d+\.', key):
            for pattern, repl in rules:
                key = re.sub(pattern, repl, key)
        out[key] = value
    return out


# --------------------------------------------------------------------------------------
# width rule and arch tables (cheap, all 24 archs)
# --------------------------------------------------------------------------------------
def test_stage_tables_match_pycls_zoo():
    assert set(ARCH_SETTINGS) == set(ZOO)
    for arch, (_, widths, depths, _, _) in ZOO.items():
        plan = arch_stages(arch)
        assert tuple(plan['widths']) == widths, arch
        assert tuple(plan['depths']) == depths, arch
        assert plan['se_ratio'] == (0.25 if arch.startswith('regnety') else 0.0)
    # X-8.0GF: group width 120 is clipped to the 80-wide first stage
    assert arch_stages('regnetx_8.0gf')['group_widths'] == [80, 120, 120, 120]
    assert generate_regnet_widths(80, 49.56, 2.88, 23, 120) == (
        [80, 240, 720, 1920], [2, 5, 15, 1], [80, 120, 120, 120])


def test_arch_tables_match_timm_and_mmdet():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    cfgs = timm.models.regnet.model_cfgs
    for arch, (timm_name, *_) in ZOO.items():
        c, ours = cfgs[timm_name], ARCH_SETTINGS[arch]
        assert (c.w0, c.wa, c.wm, c.depth, c.group_size, c.bottle_ratio, c.se_ratio) == (
            ours['w0'], ours['wa'], ours['wm'], ours['depth'], ours['group_w'],
            ours['bot_mul'], ours['se_ratio']), arch
    for arch, setting in MMDetRegNet.arch_settings.items():
        assert {k: ARCH_SETTINGS[arch][k] for k in setting} == setting, arch


def test_arch_dict_and_unknown_arch():
    named = PyclsRegNet('regnetx_200mf')
    same = PyclsRegNet(dict(w0=24, wa=36.44, wm=2.49, depth=13, group_w=8))
    assert same.arch_name == 'regnetx_200mf' and same.stage_widths == named.stage_widths
    custom = PyclsRegNet(dict(w0=24, wa=30.0, wm=2.5, depth=10, group_w=8, se_ratio=0.25),
                         out_indices=(0, 1, 2))
    assert custom.arch_name is None and custom.layer1[0].se is not None
    assert PyclsRegNet('RegNetY-200MF').arch_name == 'regnety_200mf'  # pycls' spelling
    with pytest.raises(KeyError) as err:
        PyclsRegNet('regnetx_3gf')
    msg = str(err.value)
    assert '\n' not in msg and 'regnetx_3.2gf' in msg and 'regnety_32gf' in msg
    with pytest.raises(KeyError, match='group_w'):
        PyclsRegNet(dict(w0=24, wa=36.44, wm=2.49, depth=13))
    with pytest.raises(ValueError, match='w0'):
        generate_regnet_widths(20, 36.44, 2.49, 13, 8)


# --------------------------------------------------------------------------------------
# timm parity, params and FLOPs for every zoo arch (one timm/ours pair alive at a time)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope='module', params=list(ZOO))
def zoo_pair(request):
    arch = request.param
    ref, ours, fmt = regnet_timm_pair(arch)
    assert fmt == 'regnet_timm'
    yield arch, ref, ours


@pytest.mark.slow
@pytest.mark.parity
def test_timm_parity(zoo_pair):
    arch, ref, ours = zoo_pair
    result = regnet_timm_parity(ref, ours)  # ours gets the BGR-flipped image
    assert result['rel'] <= PARITY_RTOL, arch  # logits and the four stages
    assert result['stage_widths'] == list(ZOO[arch][1])
    assert result['logits_std'] > 0.1  # weights are not degenerate


@pytest.mark.parity
def test_parity_tolerance_catches_a_one_percent_weight_change():
    """PARITY_RTOL is sharp: 1% more on the weight tensor whose change moves
    RegNetY-1.6GF's outputs least (an SE conv, measured over all 141) fails the check."""
    ref, ours, _ = regnet_timm_pair('regnety_1.6gf')
    with torch.no_grad():
        ours.backbone.layer3[1].se.conv1.conv.weight.mul_(1.01)
    change = regnet_timm_parity(ref, ours)['rel']
    print(f'\nRegNetY-1.6GF, 1% on layer3.1.se.conv1: {change:.1e} relative')
    assert change > 2 * PARITY_RTOL


@pytest.mark.slow
def test_params_and_flops_match_pycls_zoo(zoo_pair):
    arch, ref, ours = zoo_pair
    _, _, _, gflops, mparams = ZOO[arch]
    params = count_params(ours)
    assert params == count_params(ref)
    assert abs(params / 1e6 - mparams) <= 0.0005, (arch, params)
    flops = pycls_flops(ours)
    assert abs(flops / 1e9 - gflops) <= 0.01 * gflops, (arch, flops)


@pytest.mark.slow
def test_model_complexity_info_at_224():
    """get_model_complexity_info at 224x224 on the smallest model: pycls' params, and
    FLOPs that are pycls' conv+FC count (exactly our 32x32 scaling) plus BN/pooling."""
    from mmengine.analysis import get_model_complexity_info
    model = build_regnet_classifier('regnety_200mf').eval()
    info = get_model_complexity_info(model, input_shape=(3, 224, 224), show_table=False,
                                     show_arch=False)
    assert abs(info['params'] / 1e6 - 3.163) <= 0.0005
    analyzer = flop_analyzer(model, 224)
    by_op = analyzer.by_operator()
    scaled = pycls_flops(model)
    assert by_op['conv'] + by_op['linear'] == scaled
    assert info['flops'] == analyzer.total() == scaled + by_op['batch_norm'] + by_op[
        'adaptive_avg_pool2d']
    assert abs(scaled / 1e9 - 0.200) <= 0.002


# --------------------------------------------------------------------------------------
# mmdet's RegNet (every arch mmdet has) and pycls round trip
# --------------------------------------------------------------------------------------
def _mmdet_archs():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    return list(MMDetRegNet.arch_settings)


@pytest.mark.parity
@pytest.mark.parametrize('arch', ['regnetx_400mf', 'regnety_1.6gf'])
@pytest.mark.parametrize('output_stride,strides,dilations', [
    (8, (2, 2, 1, 1), (1, 1, 2, 4)), (16, (2, 2, 2, 1), (1, 1, 1, 2))])
@pytest.mark.slow
def test_dilated_regnet_equals_timm(arch, output_stride, strides, dilations):
    """mmseg-style strides/dilations with contract_dilation (the first block of a dilated
    stage at half the dilation) is timm's regnet(output_stride=...)."""
    from rexnet_mm.analysis.parity import meta_built, regnet_outputs
    ref = randomize_(meta_built(timm.create_model, ZOO[arch][0], output_stride=output_stride),
                     3, **REGNET_RANDOM)
    ours = build_regnet_classifier(arch, strides=strides, dilations=dilations,
                                   contract_dilation=True).eval()
    ours.load_state_dict(convert_state_dict(ref.state_dict(), 'regnet')[0], strict=True)
    result = regnet_timm_parity(ref, ours)
    print(f"\n{arch} output stride {output_stride} vs timm: {result['rel']:.1e} relative")
    assert result['rel'] <= PARITY_RTOL
    sizes = [64 // 2 ** min(i + 2, {8: 3, 16: 4}[output_stride]) for i in range(4)]
    with torch.no_grad():
        _, feats = regnet_outputs(ours, ours.backbone, image(), mode='tensor')
    assert [f.shape[-1] for f in feats] == sizes
    # without the contraction the first dilated block differs from timm's
    plain = build_regnet_classifier(arch, strides=strides, dilations=dilations).eval()
    plain.load_state_dict(ours.state_dict())
    assert regnet_timm_parity(ref, plain)['rel'] > 100 * PARITY_RTOL


@pytest.mark.slow
@pytest.mark.parity
@pytest.mark.parametrize('arch', _mmdet_archs())
def test_mmdet_parity(arch):
    result = regnet_mmdet_parity(arch, seed=3)
    assert result['format'] == 'regnet_mmdet'
    # identical module names: mmdet's state dict is ours without the prefix
    assert result['same_keys']
    assert len(result['stages']) == 4
    assert result['rel'] <= PARITY_RTOL, arch  # both BGR: no flip


def test_mmdet_files_load_through_init_cfg(tmp_path):
    """open-mmlab://regnetx_* layout (bare + ``fc``) and an mmdet detector checkpoint."""
    from mmdet.models.backbones import RegNet as MMDetRegNet
    ref = randomize_(MMDetRegNet(arch='regnetx_400mf'), 4, **REGNET_RANDOM)
    bare = dict(ref.state_dict(), **{'fc.weight': torch.zeros(1000, 384),
                                     'fc.bias': torch.zeros(1000)})
    detector = {f'backbone.{k}': v for k, v in ref.state_dict().items()}
    detector['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 64, 1, 1)
    x = image()
    with torch.no_grad():
        expected = ref(x)
    for name, sd, fmt in (('bare.pth', bare, 'regnet_mmdet'),
                          ('det.pth', {'state_dict': detector}, 'regnet_rexnet_mm')):
        torch.save(sd, tmp_path / name)
        assert convert_state_dict(read_state_dict(str(tmp_path / name)), 'regnet')[1] == fmt
        ours = PyclsRegNet('regnetx_400mf', init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / name)))
        ours.init_weights()
        with torch.no_grad():
            for a, b in zip(ours.eval()(x), expected):
                assert close(a, b), name


def test_mmpretrain_regnet_checkpoint_loads(tmp_path):
    """mmpretrain's RegNet classifiers (``backbone.*``) are our layout already."""
    from mmpretrain.models.backbones import RegNet as PretrainRegNet
    ref = randomize_(PretrainRegNet('regnetx_400mf', out_indices=(0, 1, 2, 3)), 6,
                    **REGNET_RANDOM)
    path = tmp_path / 'mmpretrain.pth'
    torch.save({'meta': {}, 'state_dict': {f'backbone.{k}': v for k, v in
                                           ref.state_dict().items()}}, path)
    ours = PyclsRegNet('regnetx_400mf', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    x = image()
    with torch.no_grad():
        for a, b in zip(ours.eval()(x), ref(x)):
            assert close(a, b)


@pytest.mark.parametrize('arch', ['regnetx_200mf', 'regnety_400mf'])
def test_pycls_round_trip(arch, tmp_path):
    ref = timm_regnet(ZOO[arch][0], seed=5)
    pycls_sd = timm_to_pycls(ref.state_dict())
    assert 's1.b1.f.a.weight' in pycls_sd and 's1.b1.proj.weight' in pycls_sd
    assert ('s1.b1.f.se.f_ex.0.weight' in pycls_sd) == arch.startswith('regnety')
    path = tmp_path / 'pycls.pyth'
    torch.save({'epoch': 100, 'model_state': pycls_sd}, path)  # pycls file structure
    state, fmt = convert_state_dict(read_state_dict(str(path)), 'regnet')
    assert fmt == 'regnet_pycls'
    ours = build_regnet_classifier(arch).eval()
    ours.load_state_dict(state, strict=True)
    x = image()
    with torch.no_grad():
        assert close(ours(x.flip(1), mode='tensor'), ref(x))
    # and back: our export reproduces pycls' and timm's files exactly
    for layout, expected in (('pycls', pycls_sd), ('timm', ref.state_dict())):
        exported = to_layout(ours.state_dict(), layout)
        assert sorted(exported) == sorted(expected), layout
        assert all(torch.equal(exported[k], expected[k]) for k in expected), layout


def test_converter_tables_cover_all_roles():
    roles = set(LAYOUTS['ours'][0])
    assert all(set(t) == roles for t, _, _ in LAYOUTS.values())
    assert {order for _, _, order in LAYOUTS.values()} == {'BGR', 'RGB'}
    assert LAYOUTS['timm'][2] == 'RGB'


# --------------------------------------------------------------------------------------
# knobs
# --------------------------------------------------------------------------------------
def _small(**kwargs):
    model = PyclsRegNet('regnety_200mf', **kwargs)
    model.init_weights()
    return model


def test_out_indices_strides_dilations():
    model = _small(out_indices=(1, 3)).eval()
    outs = model(image())
    assert model.out_channels == (56, 368)
    assert [tuple(o.shape) for o in outs] == [(1, 56, 8, 8), (1, 368, 2, 2)]
    # stages after the last requested one are not run nor trained
    model = _small(out_indices=(0, 1))
    assert not any(p.requires_grad for p in model.layer4.parameters())
    assert len(model.eval()(image())) == 2
    dilated = _small(strides=(2, 2, 1, 1), dilations=(1, 1, 2, 4)).eval()
    assert tuple(dilated(image())[-1].shape) == (1, 368, 8, 8)
    with pytest.raises(ValueError, match='out_indices'):
        PyclsRegNet('regnetx_200mf', out_indices=(4,))


def test_default_init_zeroes_last_norm():
    model = _small()
    with torch.no_grad():
        assert all(float(b.norm3.weight.abs().sum()) == 0 for b in model.layer2)
        assert float(model.conv1.weight.std()) > 0


def test_frozen_stages():
    model = _small(frozen_stages=2)
    model.train()
    frozen = [model.conv1, model.bn1, model.layer1, model.layer2]
    for m in frozen:
        assert not any(p.requires_grad for p in m.parameters())
        assert not any(b.training for b in m.modules() if isinstance(b, _BatchNorm))
    for m in (model.layer3, model.layer4):
        assert all(p.requires_grad for p in m.parameters())
        assert all(b.training for b in m.modules() if isinstance(b, _BatchNorm))
    sum(o.sum() for o in model(image(batch=2))).backward()
    assert model.layer1[0].conv1.weight.grad is None
    assert model.layer3[0].conv1.weight.grad is not None


@pytest.mark.parametrize('norm_eval', [True, False])
def test_norm_eval_keeps_bn_stats(norm_eval):
    model = _small(norm_eval=norm_eval)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sum(o.mean() for o in model(image(batch=2))).backward()
    opt.step()
    after = model.state_dict()
    unchanged = all(torch.equal(before[k], after[k]) for k in before)
    assert unchanged == norm_eval
    assert all(p.grad is not None for p in model.parameters())  # still trained


def test_with_cp_same_outputs_and_gradients():
    plain, ckpt = _small(), _small(with_cp=True)
    ckpt.load_state_dict(randomize_(plain, **REGNET_RANDOM).state_dict())
    x1, x2 = image(batch=2).requires_grad_(), image(batch=2).requires_grad_()
    outs = [m.train()(x) for m, x in ((plain, x1), (ckpt, x2))]
    for a, b in zip(*outs):
        assert close(a, b)
    for m, o in zip((plain, ckpt), outs):
        sum((t * t).mean() for t in o).backward()
    assert close(x1.grad, x2.grad)
    grads = dict(ckpt.named_parameters())
    for name, p in plain.named_parameters():
        assert close(p.grad, grads[name].grad), name


@pytest.mark.slow
def test_registries():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    from mmdet.registry import MODELS as DET
    from mmpretrain.models.backbones import RegNet as PretrainRegNet
    from mmpretrain.registry import MODELS as PRETRAIN
    from mmseg.registry import MODELS as SEG
    from rexnet_mm.registry import MODELS as OURS
    cfg = dict(arch='regnetx_400mf', out_indices=(3,))
    assert type(DET.build(dict(type='RegNet', **cfg))) is MMDetRegNet
    assert type(PRETRAIN.build(dict(type='RegNet', **cfg))) is PretrainRegNet
    for registry in (DET, SEG, PRETRAIN, OURS):
        for name in ('PyclsRegNet', 'rexnet_mm.RegNet', 'rexnet_mm.PyclsRegNet'):
            model = registry.build(dict(type=name, **cfg))
            assert type(model) is PyclsRegNet, (registry.scope, name)
    assert type(OURS.build(dict(type='RegNet', **cfg))) is PyclsRegNet


def test_mmdet_regnet_config_swaps_to_ours():
    """mmdet's own Mask R-CNN RegNetX-3.2GF config: only the type changes."""
    import os.path as osp
    import mmdet
    from mmengine.config import Config
    from mmdet.registry import MODELS as DET
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'regnet',
                    'mask-rcnn_regnetx-3.2gf_fpn_1x_coco.py')
    if not osp.exists(path):
        pytest.skip(f'mmdet was installed without its configs ({path})')
    cfg = Config.fromfile(path).model
    backbone = dict(cfg.backbone, type='PyclsRegNet', init_cfg=None)
    model = DET.build(backbone)
    assert type(model) is PyclsRegNet and model.frozen_stages == 1 and model.norm_eval
    assert list(model.out_channels) == cfg.neck.in_channels == [96, 192, 432, 1008]
    assert cfg.data_preprocessor.bgr_to_rgb is False  # BGR, as our converted weights


def test_classifier_config_builds():
    """``regnet_classifier_cfg``: PyclsRegNet's last stage into the pycls head, BGR input."""
    from mmpretrain.registry import MODELS as PRETRAIN
    cfg = regnet_classifier_cfg('regnetx_400mf')
    model = PRETRAIN.build(cfg)
    assert type(model.backbone) is PyclsRegNet
    assert model.head.fc.in_features == model.backbone.stage_widths[-1] == 384
    assert cfg['data_preprocessor']['to_rgb'] is False
    assert regnet_classifier_cfg('regnety_1.6gf')['head']['in_channels'] == 888


def test_wrong_arch_checkpoint_names_both_archs(tmp_path):
    other = build_regnet_classifier('regnetx_400mf')
    path = tmp_path / 'x400.pth'
    save_checkpoint(other.state_dict(), str(path))
    model = PyclsRegNet('regnetx_200mf', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError) as err:
        model.init_weights()
    assert 'regnetx_400mf' in str(err.value) and 'regnetx_200mf' in str(err.value)
    # same widths, SE differs: a timm regnety_002 file into regnetx_200mf
    ref = timm.create_model('regnety_002', pretrained=False)
    torch.save(ref.state_dict(), tmp_path / 'y200.pth')
    model = PyclsRegNet('regnetx_200mf', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'y200.pth')))
    with pytest.raises(CheckpointError) as err:
        model.init_weights()
    assert 'regnety_200mf' in str(err.value) and 'regnetx_200mf' in str(err.value)
    assert 'regnet_timm' in str(err.value)


def test_timm_file_loads_through_init_cfg(tmp_path):
    ref = timm_regnet('regnety_002', seed=7)
    torch.save({'state_dict': ref.state_dict()}, tmp_path / 'timm.pth')
    model = _small(out_indices=(0, 1, 2, 3))
    model.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'timm.pth'))
    model.init_weights()
    x = image()
    with torch.no_grad():
        expected = timm_regnet_outputs(ref, x)[1]
        for a, b in zip(model.eval()(x.flip(1)), expected):
            assert close(a, b)
