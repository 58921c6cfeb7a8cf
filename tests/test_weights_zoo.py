"""ImageNet weights by name (rexnet_mm.weights.zoo / .download), against sources started on
127.0.0.1 (tests/weight_sources.py) that serve files in the real layouts: timm's
``model.safetensors`` on a hub endpoint (huggingface_hub honours ``HF_ENDPOINT``), pycls
``.pyth`` and OpenMMLab files through a mirror (``REXNET_MM_MIRROR``), and the authors'
``.pth`` placed by hand. Nothing here reaches the internet.

The reference for "the backbone equals the source model" is timm's own model with the
weights that were served, run on the same image (RGB; our RegNets take BGR, the
converter flips timm's RGB stem)."""
import hashlib
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from safetensors.torch import save as safetensors_bytes

import rexnet_mm
import rexnet_mm.errors
from rexnet_mm.analysis.parity import (random_image, randomize_, rel_diff, timm_regnet,
                                       timm_regnet_outputs, timm_rexnet,
                                       timm_rexnet_outputs)
from rexnet_mm.weights import WeightsUnavailable, fetch
from rexnet_mm.weights import regnet as regnet_layouts
from rexnet_mm.weights import rexnet as rexnet_layouts
from rexnet_mm.weights.zoo import ZOO
from weight_sources import Sources

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
HUB_FILE = '/timm/rexnet_100.nav_in1k/resolve/main/model.safetensors'
#: float32 through the same ops in both nets (convs, BN folded the same way): 1e-6 of
#: the outputs' scale is measured, 1e-5 (the issue's bound) leaves 10x for other CPUs
RTOL = 1e-5


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Sources on 127.0.0.1, online, with an empty cache of this test's own."""
    import huggingface_hub.constants as hf_constants
    src = Sources()
    monkeypatch.setenv('REXNET_MM_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('REXNET_MM_OFFLINE', '0')
    monkeypatch.setenv('HF_HUB_OFFLINE', '0')
    # huggingface_hub reads HF_HUB_OFFLINE once, when imported (tests/conftest.py set it)
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setenv('HF_ENDPOINT', src.url)
    monkeypatch.setenv('REXNET_MM_MIRROR', src.url)
    yield src
    src.stop()


def _safetensors(model):
    return safetensors_bytes({k: v.contiguous() for k, v in model.state_dict().items()})


def _pth(state_dict, wrap=None):
    import io
    buf = io.BytesIO()
    torch.save({wrap: state_dict, 'epoch': 100} if wrap else state_dict, buf)
    return buf.getvalue()


def _backbone(cfg_path, registry, **options):
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    init_default_scope(cfg.default_scope)
    model = registry.build(cfg.model)
    model.init_weights()
    return model.backbone.eval()


def _cache_files(tmp_path, sub):
    folder = tmp_path / 'cache' / 'weights' / sub
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ------------------------------------------------------------------ the four task families
@pytest.mark.parity
def test_ssdlite_config_starts_from_hub_weights_then_from_the_cache(sources, tmp_path):
    """configs/ssdlite_rexnet.py names rexnet_mm://rexnet-1.0: first use downloads timm's
    model.safetensors once, checks it against the hub's sha256 and converts it; the
    backbone then equals timm's model; a second use makes no request at all."""
    from mmdet.registry import MODELS
    ref = randomize_(timm_rexnet(1.0), seed=1).eval()
    sources.add_hub_file('timm/rexnet_100.nav_in1k', 'model.safetensors', _safetensors(ref))
    backbone = _backbone(osp.join(CONFIGS, 'ssdlite_rexnet.py'), MODELS)
    assert sources.gets(HUB_FILE) == 1
    x = random_image(64, seed=2)
    _, taps = timm_rexnet_outputs(ref, x)
    ours = backbone(x)
    for mine, theirs in zip(ours, (taps[4], taps[6])):  # out_indices (4, 6)
        assert rel_diff(mine, theirs) < RTOL
    assert _cache_files(tmp_path, 'converted') == ['rexnet-1.0.pth', 'rexnet-1.0.pth.sha256']

    before = sources.total()
    sources.stop()  # cached: no source needed, nothing requested
    again = _backbone(osp.join(CONFIGS, 'ssdlite_rexnet.py'), MODELS)
    assert sources.total() == before
    assert torch.equal(again.conv2.conv.weight, backbone.conv2.conv.weight)


@pytest.mark.slow
def test_regnet_faster_rcnn_skips_a_wrong_hash_and_takes_the_pycls_file(sources, tmp_path):
    """regnetx-3.2gf: the hub has no file (404), OpenMMLab's file fails the sha256 prefix
    its name pins (fetched twice, then removed), and the pycls .pyth is used."""
    from mmdet.registry import MODELS
    ref = timm_regnet('regnetx_032', seed=3).eval()
    ours_layout = regnet_layouts.convert_layout(ref.state_dict(), 'timm', 'ours')
    pycls = regnet_layouts.to_layout(ours_layout, 'pycls')
    sources.add_file('regnetx_3.2gf-c2599b0f.pth', _pth(pycls))  # any bytes: wrong hash
    sources.add_file('RegNetX-3.2GF_dds_8gpu.pyth', _pth(pycls, wrap='model_state'))
    cfg = osp.join(CONFIGS, 'detection', 'faster-rcnn', 'faster-rcnn_regnetx-3.2gf_fpn_1x_coco.py')
    backbone = _backbone(cfg, MODELS)
    assert sources.gets('/regnetx_3.2gf-c2599b0f.pth') == 2  # fetched again once
    assert sources.gets('/RegNetX-3.2GF_dds_8gpu.pyth') == 1
    assert _cache_files(tmp_path, 'downloads') == ['RegNetX-3.2GF_dds_8gpu.pyth',
                                                   'RegNetX-3.2GF_dds_8gpu.pyth.sha256']
    x = random_image(64, seed=4)
    _, stages = timm_regnet_outputs(ref, x)
    for mine, theirs in zip(backbone(x.flip(1)), stages):  # ours BGR, timm RGB
        assert rel_diff(mine, theirs) < RTOL
    meta = torch.load(tmp_path / 'cache/weights/converted/regnetx-3.2gf.pth',
                      weights_only=True)['meta']
    assert meta['source_format'] == 'regnet_pycls' and meta['source'].endswith('.pyth')


@pytest.mark.slow
def test_segmentation_config_from_hub(sources):
    """A RegNetY Semantic FPN: timm's regnety_004 copy of the pycls weights."""
    from mmseg.registry import MODELS
    ref = timm_regnet('regnety_004', seed=5).eval()
    sources.add_hub_file('timm/regnety_004.pycls_in1k', 'model.safetensors',
                         _safetensors(ref))
    cfg = osp.join(CONFIGS, 'segmentation', 'sem_fpn',
                   'fpn_regnety-400mf_4xb2-80k_cityscapes-512x1024.py')
    backbone = _backbone(cfg, MODELS, **{'model.backbone.norm_cfg.type': 'BN'})
    x = random_image(64, seed=6)
    _, stages = timm_regnet_outputs(ref, x)
    for mine, theirs in zip(backbone(x.flip(1)), stages):
        assert rel_diff(mine, theirs) < RTOL


@pytest.mark.parity
def test_finegrained_config_offline_from_a_file_placed_by_hand(sources, tmp_path,
                                                               monkeypatch):
    """ReXNet-1.5 offline: the authors' rexnetv1_1.5x.pth (a Drive page, never
    downloaded) saved as <cache>/weights/manual/rexnet-1.5.pth is converted and used."""
    from mmpretrain.registry import MODELS
    monkeypatch.setenv('REXNET_MM_OFFLINE', '1')
    ref = randomize_(timm_rexnet(1.5), seed=7).eval()
    ours = rexnet_layouts._TimmFormat.convert(ref.state_dict())
    authors = rexnet_layouts.to_layout(ours, 'authors')
    manual = tmp_path / 'cache' / 'weights' / 'manual'
    manual.mkdir(parents=True)
    (manual / 'rexnet-1.5.pth').write_bytes(_pth(authors))
    backbone = _backbone(osp.join(CONFIGS, 'finegrained', 'rexnet-1.5_cub.py'), MODELS)
    assert sources.total() == 0
    x = random_image(64, seed=8)
    _, taps = timm_rexnet_outputs(ref, x)
    assert rel_diff(backbone(x)[-1], taps[6]) < RTOL


@pytest.mark.slow
def test_training_starts_from_the_fetched_weights(sources, tmp_path):
    """tools' train() on the demo detector named rexnet_mm://rexnet-1.0: the weights are
    fetched before the Runner is built, and with a learning rate of 0 the trained
    backbone's convs still equal timm's."""
    from rexnet_mm.apis import load_config, train
    from rexnet_mm.synthetic.shapes_coco import generate
    data = tmp_path / 'data'
    generate(str(data), num_train=2, num_val=2, size=96, seed=3)
    ref = randomize_(timm_rexnet(1.0), seed=1)
    sources.add_hub_file('timm/rexnet_100.nav_in1k', 'model.safetensors', _safetensors(ref))
    opts = {'optim_wrapper.optimizer.lr': 0.0,
            'default_hooks.checkpoint.interval': 100, 'test_evaluator.ann_file':
            str(data / 'annotations' / 'instances_val.json')}
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        opts.update({f'{loader}.dataset.data_root': str(data) + '/',
                     f'{loader}.batch_size': 2, f'{loader}.num_workers': 0,
                     f'{loader}.persistent_workers': False})
    opts['val_evaluator.ann_file'] = opts['test_evaluator.ann_file']
    cfg = load_config(osp.join(CONFIGS, 'detection', 'demo', 'ssdlite_rexnet_shapes.py'),
                      opts, work_dir=str(tmp_path / 'wd'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.param_scheduler = []
    runner = train(cfg)
    assert sources.gets(HUB_FILE) == 1
    converted = rexnet_layouts._TimmFormat.convert(ref.state_dict())
    trained = runner.model.backbone.state_dict()
    convs = [k for k in trained if k.endswith('conv.weight')]
    assert len(convs) == 49  # every conv of ReXNet-1.0 but the SE ones (not named conv)
    for key in convs:
        assert torch.equal(trained[key], converted['backbone.' + key]), key


# ------------------------------------------------------------------ faults
def test_corrupt_downloads_and_cache_files_are_never_used(sources, tmp_path):
    """A hub download whose bytes differ from the hub's sha256 is removed and fetched
    again; a damaged converted file in the cache is detected and rebuilt from the
    cached download without fetching it again."""
    ref = randomize_(timm_rexnet(1.0), seed=1)
    sources.add_hub_file('timm/rexnet_100.nav_in1k', 'model.safetensors', _safetensors(ref))
    sources.corrupt_next[HUB_FILE] = 1
    path = fetch('rexnet_mm://rexnet-1.0', progress=False)
    assert sources.gets(HUB_FILE) == 2
    good = torch.load(path, weights_only=True)['state_dict']

    with open(path, 'r+b') as f:  # a damaged cache file (a disk error, a bad copy)
        f.seek(100)
        f.write(b'\0' * 64)
    again = fetch('rexnet_mm://rexnet-1.0', progress=False)
    assert sources.gets(HUB_FILE) == 2
    rebuilt = torch.load(again, weights_only=True)['state_dict']
    assert all(torch.equal(rebuilt[k], v) for k, v in good.items())


def test_unusable_download_is_refused_in_one_line_and_removed(sources, tmp_path):
    """A URL whose name pins no hash serves junk: the conversion fails, the file is
    removed (never used later) and, no source left, one line names the fix."""
    url = 'https://example.invalid/weights/RegNetY-400MF_dds_8gpu.pyth'
    sources.add_file('RegNetY-400MF_dds_8gpu.pyth', b'<html>a login page</html>')
    with pytest.raises(WeightsUnavailable) as exc:
        fetch(url, progress=False)
    msg = str(exc.value)
    assert '\n' not in msg and 'cannot read checkpoint' in msg and 'removed it' in msg
    assert _cache_files(tmp_path, 'downloads') == []
    assert _cache_files(tmp_path, 'converted') == []


def test_source_down_is_one_line_naming_file_and_place(sources, tmp_path, monkeypatch):
    """Every source down: one line naming what failed, the files and where to put one.
    (huggingface_hub retries a refused connection 5 times with growing waits, about 30 s
    in all; the waits are skipped here.)"""
    import time
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)
    sources.stop()
    with pytest.raises(WeightsUnavailable) as exc:
        fetch('rexnet_mm://regnety-1.6gf', progress=False)
    msg = str(exc.value)
    assert '\n' not in msg
    for part in ('hf-hub:timm/regnety_016.pycls_in1k', 'RegNetY-1.6GF_dds_8gpu.pyth',
                 'Connection refused',
                 str(tmp_path / 'cache' / 'weights' / 'manual' / 'regnety-1.6gf')):
        assert part in msg, msg


@pytest.mark.slow
def test_two_processes_download_once(sources, tmp_path):
    """torchrun, 2 gloo processes building the same backbone by name from an empty
    cache: one downloads (the other waits on the lock), both get the same weights."""
    ref = randomize_(timm_rexnet(1.3), seed=9)
    sources.add_hub_file('timm/rexnet_130.nav_in1k', 'model.safetensors', _safetensors(ref))
    script = tmp_path / 'build.py'
    script.write_text(textwrap.dedent('''
        import hashlib, os, sys
        import torch.distributed as dist
        import rexnet_mm
        from rexnet_mm.models.backbones.rexnet import ReXNet
        dist.init_process_group('gloo')
        net = ReXNet(widen_factor=1.3, out_indices=(6,),
                     init_cfg=dict(type='Pretrained', checkpoint='rexnet_mm://rexnet-1.3'))
        net.init_weights()
        digest = hashlib.sha256()
        for k, v in sorted(net.state_dict().items()):
            digest.update(k.encode() + v.numpy().tobytes())
        with open(os.path.join(sys.argv[1], f'rank{dist.get_rank()}.txt'), 'w') as f:
            f.write(digest.hexdigest())
        dist.barrier()
        dist.destroy_process_group()
    '''))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
                           '2', '--master_port', str(_free_port()), str(script),
                           str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sources.gets('/timm/rexnet_130.nav_in1k/resolve/main/model.safetensors') == 1
    digests = {(tmp_path / f'rank{r}.txt').read_text() for r in (0, 1)}
    expected = rexnet_layouts._TimmFormat.convert(ref.state_dict())
    digest = hashlib.sha256()
    for k, v in sorted((k[len('backbone.'):], v) for k, v in expected.items()
                       if k.startswith('backbone.')):
        digest.update(k.encode() + v.numpy().tobytes())
    assert digests == {digest.hexdigest()}  # both processes hold timm's weights


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the table
def test_zoo_names_timm_ids_that_timm_itself_lists():
    """Every hub id in the zoo is a timm pretrained tag of that architecture (timm's own
    pretrained_cfg), so a zoo entry cannot point at a model timm does not publish."""
    import timm
    published = {timm.models.get_pretrained_cfg(n).hf_hub_id
                 for n in timm.list_pretrained('rexnet*') + timm.list_pretrained('regnet*')}
    hub_ids = [s[len('hf-hub:'):] for _, (_, srcs) in ZOO.items() for s in srcs
               if s.startswith('hf-hub:')]
    assert len(hub_ids) == 5 + 24
    assert set(hub_ids) <= published, set(hub_ids) - published
    from rexnet_mm.models.backbones.regnet import ARCH_SETTINGS
    regnets = {cfg['arch'] for cfg, _ in ZOO.values() if cfg['type'] == 'PyclsRegNet'}
    assert regnets == set(ARCH_SETTINGS)  # the whole pycls zoo


def test_unknown_name_suggests_the_spelling():
    from rexnet_mm.weights import CheckpointError
    with pytest.raises(CheckpointError) as exc:
        fetch('rexnet_mm://rexnet_1.0')  # old spelling on purpose
    assert 'did you mean rexnet-1.0' in str(exc.value)


@pytest.mark.slow
def test_mmpretrain_get_model_pretrained_true_fetches_by_name(sources):
    """Our ImageNet classifiers' metafile Weights are zoo names: mmpretrain's
    get_model(name, pretrained=True) loads them through mmengine's CheckpointLoader
    (scheme rexnet_mm://), classifier included: timm's logits. ReXNet-lite has no
    public weights: one line says so."""
    import mmpretrain
    ref = randomize_(timm_rexnet(1.0), seed=1).eval()
    sources.add_hub_file('timm/rexnet_100.nav_in1k', 'model.safetensors', _safetensors(ref))
    model = mmpretrain.get_model('rexnet-1.0_4xb128_in1k', pretrained=True).eval()
    x = random_image(64, seed=3)
    logits, _ = timm_rexnet_outputs(ref, x)
    with torch.no_grad():
        assert rel_diff(model(x, mode='tensor'), logits) < RTOL
    with pytest.raises(WeightsUnavailable, match='no public download of rexnet_mm://rexnet-lite-1.0'):
        mmpretrain.get_model('rexnet-lite-1.0_4xb128_in1k', pretrained=True)
    # a fine-grained recipe has no released weights: refused, not random weights
    with pytest.raises(rexnet_mm.errors.UserError, match='rexnet-1.0_cub has no released weights'):
        mmpretrain.get_model('rexnet-1.0_cub', pretrained=True)


def test_a_hub_id_or_url_written_directly(sources, tmp_path):
    """Sources need no zoo entry: ``hf-hub:REPO`` and a URL in a backbone's init_cfg are
    fetched, checked and converted the same way, each cached under its own key."""
    from rexnet_mm.models.backbones.rexnet import ReXNet
    ref = randomize_(timm_rexnet(1.0), seed=4)
    sources.add_hub_file('timm/my_rexnet', 'model.safetensors', _safetensors(ref))
    authors = rexnet_layouts.to_layout(rexnet_layouts._TimmFormat.convert(ref.state_dict()),
                                       'authors')
    sources.add_file('rexnetv1_1.0x.pth', _pth(authors))
    for spec in ('hf-hub:timm/my_rexnet', 'https://example.invalid/w/rexnetv1_1.0x.pth'):
        net = ReXNet(init_cfg=dict(type='Pretrained', checkpoint=spec))
        net.init_weights()
        assert torch.equal(net.layer6[4].conv_pwl.conv.weight,
                           ref.state_dict()['features.15.conv_pwl.conv.weight'])
    assert _cache_files(tmp_path, 'converted') == [
        'hf-hub_timm_my_rexnet.pth', 'hf-hub_timm_my_rexnet.pth.sha256',
        'https_example.invalid_w_rexnetv1_1.0x.pth.pth',
        'https_example.invalid_w_rexnetv1_1.0x.pth.pth.sha256']
