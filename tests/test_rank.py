"""The rank study (the ReXNet paper's section 3) and the feature-rank command
(rexnet_mm.analysis.rank): the rank measure on matrices of known rank, the linear case
equal to the dimension ratio, the paper's three observations reproduced at a small size
(and refused where they do not hold), and feature ranks of our backbones and mmdet's /
mmpretrain's own checked against a direct SVD."""
import csv
import os.path as osp

import numpy as np
import pytest
import torch

from rexnet_mm.analysis import rank
from rexnet_mm.images import list_images

OBS_NONLINEARITIES = ('identity', 'relu', 'silu', 'elu')
OBS_RATIOS = (0.1, 0.2, 0.3, 0.7, 0.8, 1.0)


def _study(**kwargs):
    kwargs = dict(dict(blocks=('conv1x1', 'ib_dw3x3'), nonlinearities=OBS_NONLINEARITIES,
                       ratios=OBS_RATIOS, networks=4, progress=False), **kwargs)
    return rank.run_study(**kwargs)


def test_rank_ratio_counts_singular_values_above_the_tolerance():
    torch.manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(32, 6, dtype=torch.float64))
    s = torch.tensor([4.0, 2.0, 1.0, 0.3, 0.1, 0.0], dtype=torch.float64)
    mat = u @ torch.diag(s) @ v.T  # singular values exactly s
    feats = mat.reshape(6, 2, 4, 4).transpose(0, 1)  # (B=2, C=6, 4, 4)
    assert rank.rank_ratio(feats, rtol=0.05) == pytest.approx(4 / 6)  # 0.3 > 0.2, 0.1 < 0.2
    assert rank.rank_ratio(feats, rtol=0.2) == pytest.approx(3 / 6)
    assert rank.rank_ratio(feats, rtol=0.01) == pytest.approx(5 / 6)


@pytest.mark.parametrize('d_in,d_out', [(8, 80), (30, 100), (64, 64)])
def test_linear_layer_rank_is_the_dimension_ratio(d_in, d_out):
    """Without a nonlinearity, conv -> BN has rank min(d_in, d_out): the paper's diagonal."""
    torch.manual_seed(0)
    block = rank.build_block('conv1x1', d_in, d_out, 'identity').double().train()
    x = torch.randn(8, d_in, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        # a square Gaussian W has tiny singular values; a tall one is well conditioned
        assert rank.rank_ratio(block(x), rtol=1e-6) == d_in / d_out
        if d_in <= 0.3 * d_out:
            assert rank.rank_ratio(block(x)) == d_in / d_out


@pytest.mark.slow
def test_study_reproduces_the_papers_three_observations():
    rows = _study()
    found = rank.observations(rows)
    assert len(found) == 3
    for statement, holds, evidence in found:
        assert holds, f'{statement}: {evidence}'
    curve = lambda b, n: rank._curve(rows, b, n)  # noqa: E731
    # margins (seeds 0-5 measured: SiLU-ReLU >= 0.18, ELU-ReLU >= 0.10, drop >= 0.13)
    relu, silu, elu = (np.mean([curve('conv1x1', n)[r] for r in (0.1, 0.2, 0.3)])
                       for n in ('relu', 'silu', 'elu'))
    assert silu - relu > 0.1 and elu - relu > 0.05, (relu, silu, elu)


@pytest.mark.slow
def test_observations_are_refused_where_they_do_not_hold():
    """At a tolerance of 1e-3 every nonlinearity is full rank: SiLU/ELU are no longer
    above ReLU, and the checker must say so (it is not a test that cannot fail)."""
    found = rank.observations(_study(networks=2, rtol=1e-3))
    assert [holds for _, holds, _ in found][1] is False
    # the linear case swapped in for ReLU: no gain over the linear case
    rows = _study(networks=2)
    fake = [dict(r, rank_ratio=rank._curve(rows, r['block'], 'identity')[r['ratio']])
            if r['nonlinearity'] == 'relu' else r for r in rows]
    assert rank.observations(fake)[0][1] is False


@pytest.mark.slow
def test_study_is_deterministic_by_seed():
    a, b = _study(networks=1, ratios=(0.2, 0.8)), _study(networks=1, ratios=(0.2, 0.8))
    assert a == b
    c = _study(networks=1, ratios=(0.2, 0.8), seed=1)
    assert a != c


def test_same_networks_for_every_nonlinearity():
    """Paired comparison: the identity rows are the linear case of the very networks the
    other nonlinearities ran on, so the conv weights must match."""
    torch.manual_seed(5)
    a = rank.build_block('ib_dw3x3', 4, 40, 'relu')
    torch.manual_seed(5)
    b = rank.build_block('ib_dw3x3', 4, 40, 'silu')
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert rank.build_block('ib_dw3x3', 4, 40, 'relu')[1].conv.groups == 24


@pytest.mark.slow
def test_rank_study_command_writes_csv_and_png(tmp_path, capsys):
    out = tmp_path / 'study'
    assert rank.study_main(['--out-dir', str(out), '--networks', '1', '--widths', '32', '48',
                            '--blocks', 'conv1x1', 'conv3x3', 'ib_dw3x3',
                            '--nonlinearities', *OBS_NONLINEARITIES]) == 0
    printed = capsys.readouterr().out
    assert "the paper's observations" in printed and 'conv3x3' in printed
    with open(out / 'rank_study.csv') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 4 * len(rank.RATIOS)
    assert {r['block'] for r in rows} == {'conv1x1', 'conv3x3', 'ib_dw3x3'}
    with open(out / 'rank_study.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    for bad in (['--rtol', '2'], ['--networks', '0'], ['--blocks', 'conv5x5']):
        with pytest.raises(SystemExit) as e:
            rank.study_main(['--out-dir', str(out)] + bad)
        assert e.value.code == 2


# --------------------------------------------------------------------------
# feature rank
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def images(tmp_path_factory):
    import mmcv
    root = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    for k in range(3):
        # smooth colour fields + a rectangle: images, not white noise
        yy, xx = np.mgrid[0:48, 0:64] / 48.0
        img = np.stack([np.sin(3 * xx + k), np.cos(2 * yy - k), xx * yy], -1)
        img = (127 + 100 * img + rng.normal(0, 5, img.shape)).clip(0, 255).astype(np.uint8)
        img[10:30, 20:40] = (40 * k, 200, 90)
        mmcv.imwrite(img, str(root / f'img{k}.png'))
    (root / 'notes.txt').write_text('not an image')
    return str(root)


def _direct_nuclear(backbone, prep, path, size):
    """Independent of rank.feature_rank: numpy's SVD of each tap's C x HW matrix."""
    with torch.no_grad():
        feats = backbone(rank._image_tensor(path, size, prep))
    spectra = [np.linalg.svd(f[0].reshape(f.shape[1], -1).double().numpy(), compute_uv=False)
               for f in feats]
    return [float(s.sum() / s[0]) for s in spectra]


@pytest.mark.parametrize('config', [
    'configs/ssdlite_rexnet.py',
    'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
    'mmpretrain::resnet/resnet18_8xb32_in1k.py',
])
@pytest.mark.slow
def test_feature_rank_matches_a_direct_svd(config, images):
    from mmengine.registry import DefaultScope
    before = DefaultScope.get_current_instance()
    torch.manual_seed(0)
    backbone, prep = rank.build_backbone(config, out_indices=(1, 2, 3))
    assert DefaultScope.get_current_instance() is before  # the caller's scope is kept
    files = list_images(images)
    assert [osp.basename(f) for f in files] == ['img0.png', 'img1.png', 'img2.png']
    rows, pooled = rank.feature_rank(backbone, prep, files, size=64, progress=False)
    assert [r['tap'] for r in rows] == [0, 1, 2]
    direct = np.mean([_direct_nuclear(backbone, prep, f, 64) for f in files], axis=0)
    for row, expected in zip(rows, direct):
        # float64 SVDs of the same float32 features: equal to rounding
        assert row['nuclear_norm'] == pytest.approx(expected, rel=1e-9)
        assert 1.0 <= row['nuclear_norm'] <= min(row['channels'], row['spatial'])
        cdf = [row[f'cdf@{t}'] for t in rank.CDF_POINTS]
        assert cdf == sorted(cdf) and 0 <= cdf[0] and cdf[-1] < 1  # s_1 / s_1 = 1 > 0.5
        assert len(pooled[row['tap']]) == 3 * min(row['channels'], row['spatial'])


@pytest.mark.slow
def test_feature_rank_loads_checkpoints(tmp_path, images):
    """A trained (here: perturbed) backbone checkpoint changes the report; the same
    weights loaded as a full-model or a backbone-only file give the same numbers."""
    cfg = 'configs/ssdlite_rexnet.py'
    torch.manual_seed(0)
    backbone, prep = rank.build_backbone(cfg)
    with torch.no_grad():
        for p in backbone.parameters():
            p.add_(0.5 * torch.randn_like(p))
    state = backbone.state_dict()
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}},
               tmp_path / 'full.pth')
    torch.save(state, tmp_path / 'backbone.pth')
    files = list_images(images)
    reports = []
    for ckpt in (None, tmp_path / 'full.pth', tmp_path / 'backbone.pth'):
        torch.manual_seed(1)
        net, prep = rank.build_backbone(cfg, str(ckpt) if ckpt else None)
        reports.append(rank.feature_rank(net, prep, files, size=64, progress=False)[0])
    assert reports[1] == reports[2]
    assert reports[0] != reports[1]
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(2)}}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='no weights of this backbone'):
        rank.build_backbone(cfg, str(tmp_path / 'other.pth'))


@pytest.mark.slow
def test_feature_rank_command(tmp_path, images, capsys):
    out = tmp_path / 'fr'
    assert rank.feature_rank_main([
        'configs/ssdlite_rexnet.py', 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
        '--images', images, '--size', '64', '--out-dir', str(out)]) == 0
    with open(out / 'feature_rank.csv') as f:
        rows = list(csv.DictReader(f))
    assert {r['model'] for r in rows} == {'ssdlite_rexnet',
                                          'ssdlite_mobilenetv2-scratch_8xb24-600e_coco'}
    with open(out / 'feature_rank.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    capsys.readouterr()
    # a handled error: one line, exit status 1 (SystemExit('error: ...'))
    with pytest.raises(SystemExit) as exc:
        rank.feature_rank_main(['configs/ssdlite_rexnet.py', '--images',
                                str(tmp_path / 'missing')])
    err = str(exc.value.code)
    assert err.count('\n') == 0 and err.startswith('error:') and 'is not a folder' in err
    with pytest.raises(SystemExit) as exc:
        rank.feature_rank_main(['configs/ssdlite_rexnet.py', '--images', images,
                                '--checkpoints', str(tmp_path / 'nope.pth')])
    assert 'does not exist' in str(exc.value.code)
    with pytest.raises(SystemExit):
        rank.feature_rank_main(['configs/ssdlite_rexnet.py', '--images', images,
                                '--checkpoints', '-', '-'])
