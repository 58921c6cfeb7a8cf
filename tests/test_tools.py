"""tools/train.py, tools/test.py, tools/coco_eval.py, the shapes generator and figures.

Independent references used here:
* pycocotools called directly (COCO / COCOeval) on the same files as tools/coco_eval.py,
  and the exact scores of perfect predictions (1.0);
* an uninterrupted training run: a run SIGKILLed after its first checkpoint and
  resumed with --resume must end with the same weights, optimizer and scheduler state
  and log the same learning rates;
* torchrun with 2 processes (gloo, CPU) must split the data between ranks;
* the generator's polygons rasterised by pycocotools against its boxes and areas.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import numpy as np
from importlib import import_module

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.synthetic.shapes_coco import CLASSES, generate, main as gen_main
from rexnet_mm.analysis.parity import PARITY_RTOL, rel_diff
from rexnet_mm.apis import coco_evaluate
from rexnet_mm.analysis.plots import draw_detections, plot_loss_curve, read_scalars

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'detection', 'demo', 'ssdlite_rexnet_shapes.py')
PY = sys.executable


pytestmark = pytest.mark.usefixtures('fast_config_dump')


@pytest.fixture(scope='module')
def val_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('shapes_eval'))
    generate(root, num_train=1, num_val=6, size=96, seed=11)
    return root


# --------------------------------------------------------------------------- generator

def test_generator_is_deterministic_and_exact(tmp_path):
    from pycocotools import mask as mask_utils

    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate(a, 3, 2, size=64, seed=5)
    generate(b, 3, 2, size=64, seed=5)
    generate(c, 3, 2, size=64, seed=6)
    for split in ('train', 'val'):
        ann = f'annotations/instances_{split}.json'
        with open(osp.join(a, ann)) as fa, open(osp.join(b, ann)) as fb, \
                open(osp.join(c, ann)) as fc:
            ja, jb, jc = json.load(fa), json.load(fb), json.load(fc)
        assert ja == jb and ja['annotations'] != jc['annotations']
        for im in ja['images']:
            with open(osp.join(a, split, im['file_name']), 'rb') as fa, \
                    open(osp.join(b, split, im['file_name']), 'rb') as fb:
                assert fa.read() == fb.read()
    assert [cat['name'] for cat in ja['categories']] == list(CLASSES)
    # masks (pycocotools' rasterisation of the polygons) agree with boxes and areas
    coco = json.load(open(osp.join(a, 'annotations/instances_train.json')))
    for img in coco['images']:
        anns = [x for x in coco['annotations'] if x['image_id'] == img['id']]
        assert anns
        union = np.zeros((img['height'], img['width']), int)
        for x in anns:
            rle = mask_utils.merge(mask_utils.frPyObjects(x['segmentation'], 64, 64))
            m = mask_utils.decode(rle)
            union += m
            ys, xs = np.nonzero(m)
            x0, y0, w, h = x['bbox']
            assert abs(xs.min() - x0) <= 1.5 and abs(xs.max() + 1 - (x0 + w)) <= 1.5
            assert abs(ys.min() - y0) <= 1.5 and abs(ys.max() + 1 - (y0 + h)) <= 1.5
            assert abs(m.sum() - x['area']) <= 0.1 * x['area'] + 8
        assert union.max() == 1  # instances do not overlap


def test_generator_rotation_bound():
    """``max_rotation`` bounds the turn of each shape: a square turned by t fills
    1 / (cos t + sin t)^2 of its box (1 upright, 0.5 at 45 degrees)."""
    from rexnet_mm.synthetic.shapes_coco import polygon_area, render_image

    def square_fill(max_rotation, n=60):
        fills = []
        for i in range(n):
            _, objects = render_image(np.random.default_rng(i), 96, max_rotation=max_rotation)
            for o in objects:
                if CLASSES[o['label']] == 'square':
                    x0, y0, x1, y1 = o['bbox']
                    fills.append(polygon_area(o['polygon']) / ((x1 - x0) * (y1 - y0)))
        return np.array(fills)

    bound = 1 / (np.cos(np.deg2rad(25)) + np.sin(np.deg2rad(25))) ** 2  # 0.566
    assert np.allclose(square_fill(0), 1)
    assert square_fill(25).min() >= bound - 1e-6
    assert square_fill(180).min() < bound  # any turn: some squares near 45 degrees


def test_generator_never_overwrites(tmp_path, capsys):
    out = str(tmp_path / 'd')
    assert generate(out, 2, 1, size=48)['created']
    assert not generate(out, 2, 1, size=48)['created']  # same settings: kept
    with pytest.raises(FileExistsError):
        generate(out, 3, 1, size=48)
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'notes.txt').write_text('keep me')
    with pytest.raises(SystemExit, match='not a generated shapes dataset'):
        gen_main(['--out', str(foreign), '--train', '1', '--val', '1'])
    assert (foreign / 'notes.txt').read_text() == 'keep me'
    assert sorted(os.listdir(foreign)) == ['notes.txt']


# --------------------------------------------------------------------------- COCO eval

def _perfect_results(ann_file, shift=0.0):
    from pycocotools import mask as mask_utils

    coco = json.load(open(ann_file))
    sizes = {im['id']: (im['height'], im['width']) for im in coco['images']}
    boxes, segms = [], []
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        boxes.append(dict(image_id=a['image_id'], category_id=a['category_id'],
                          bbox=[x + shift * w, y, w, h], score=1.0))
        h_img, w_img = sizes[a['image_id']]
        rle = mask_utils.merge(mask_utils.frPyObjects(a['segmentation'], h_img, w_img))
        rle['counts'] = rle['counts'].decode()
        segms.append(dict(image_id=a['image_id'], category_id=a['category_id'],
                          segmentation=rle, score=1.0))
    return boxes, segms


def _pycocotools_stats(ann_file, res_file, iou_type):
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        ev = COCOeval(gt, gt.loadRes(res_file), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_coco_eval_scores_perfect_and_shifted(val_data, tmp_path, capsys):
    coco_eval = import_module('rexnet_mm.tools.coco_eval')
    ann = osp.join(val_data, 'annotations', 'instances_val.json')
    boxes, segms = _perfect_results(ann)
    shifted, _ = _perfect_results(ann, shift=0.3)
    far, _ = _perfect_results(ann, shift=0.6)
    files = {}
    for name, res in (('perfect.bbox', boxes), ('perfect.segm', segms),
                      ('shifted.bbox', shifted), ('far.bbox', far)):
        files[name] = str(tmp_path / f'{name}.json')
        with open(files[name], 'w') as f:
            json.dump(res, f)

    stats = coco_eval.main([ann, '--prefix', str(tmp_path / 'perfect'), '--min-ap50', '0.99'])
    printed = capsys.readouterr().out
    assert printed.count('Average Precision') == 12 and printed.count('Average Recall') == 12
    for iou_type in ('bbox', 'segm'):
        s = stats[iou_type]
        assert len(s) == 12
        assert s[0] == s[1] == s[2] == 1.0 and s[8] == 1.0  # AP, AP50, AP75, AR@100
        np.testing.assert_array_equal(
            s, _pycocotools_stats(ann, files[f'perfect.{iou_type}'], iou_type))

    low = coco_evaluate(ann, bbox=files['shifted.bbox'], verbose=False)['bbox']
    np.testing.assert_array_equal(low, _pycocotools_stats(ann, files['shifted.bbox'], 'bbox'))
    assert low[0] < 0.5 and low[2] < stats['bbox'][2]  # 30% shift: IoU 0.54 at best
    assert low[1] == 1.0  # ... still a match at IoU 0.5
    with pytest.raises(SystemExit, match='FAILED'):  # 60% shift: IoU 0.25
        coco_eval.main([ann, '--bbox', files['far.bbox'], '--min-ap50', '0.5'])


def test_draw_detections_png(val_data, tmp_path):
    from PIL import Image

    ann = osp.join(val_data, 'annotations', 'instances_val.json')
    boxes, _ = _perfect_results(ann)
    with_boxes = draw_detections(ann, osp.join(val_data, 'val'), boxes,
                                 str(tmp_path / 'pred.png'), num_images=4, show_gt=False)
    without = draw_detections(ann, osp.join(val_data, 'val'), boxes,
                              str(tmp_path / 'none.png'), score_thr=2.0, num_images=4,
                              show_gt=False)
    a = np.asarray(Image.open(with_boxes).convert('RGB'), np.int64)
    b = np.asarray(Image.open(without).convert('RGB'), np.int64)
    assert a.shape == b.shape and a.shape[0] > 200
    assert np.abs(a - b).sum() > 1000  # the boxes (and labels) were drawn


# --------------------------------------------------------------------------- training

KILL_HOOK = '''
import os
import signal

from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module(force=True)
class KillAfterEpoch(Hook):
    """SIGKILL this process after epoch $KILL_AFTER_EPOCH (after its checkpoint)."""
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def after_train_epoch(self, runner):
        if os.environ.get('KILL_AFTER_EPOCH') == str(runner.epoch + 1):
            os.kill(os.getpid(), signal.SIGKILL)
'''

TINY_CFG = '''
_base_ = {demo!r}
custom_imports = dict(imports=['rexnet_mm', 'killhook'], allow_failed_imports=False)
data_root = {data!r}
randomness = dict(seed=0)
# deterministic pipeline: the uninterrupted and the resumed run see the same pixels
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=3, val_begin=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='CosineAnnealingLR', begin=0, T_max=3, end=3, by_epoch=True, eta_min=0)
]
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='KillAfterEpoch')]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
'''


@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory):
    """The demo config on 4 train images of 64 px: 2 iterations per epoch."""
    tmp = tmp_path_factory.mktemp('tiny')
    data = str(tmp / 'data')
    generate(data, num_train=4, num_val=2, size=64, seed=1)
    (tmp / 'killhook.py').write_text(KILL_HOOK)
    cfg = tmp / 'tiny_ssdlite.py'
    cfg.write_text(TINY_CFG.format(demo=DEMO, data=data + '/'))
    return str(cfg)


def _env(cfg, **extra):
    """Environment of a tool subprocess: the kill hook importable, nothing inherited
    that could kill it by accident."""
    env = {k: v for k, v in os.environ.items() if k != 'KILL_AFTER_EPOCH'}
    env['PYTHONPATH'] = os.pathsep.join(
        [osp.dirname(cfg), ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env.update(extra)
    return env


def _lrs(work_dir):
    """{iteration: lr} logged by the newest run in ``work_dir``."""
    from rexnet_mm.analysis.plots import find_scalars
    train, _ = read_scalars(find_scalars(work_dir))
    return dict(zip(train['lr'][0].tolist(), train['lr'][1].tolist()))


def test_killed_training_resumes_where_it_stopped(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    train = import_module('rexnet_mm.tools.train')
    killed, ref = str(tmp_path / 'killed'), str(tmp_path / 'ref')
    proc = subprocess.run([PY, osp.join(ROOT, 'tools', 'train.py'), tiny_cfg,
                           '--work-dir', killed], env=_env(tiny_cfg, KILL_AFTER_EPOCH='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert sorted(f for f in os.listdir(killed) if f.endswith('.pth')) == ['epoch_1.pth']
    saved = torch.load(osp.join(killed, 'epoch_1.pth'), map_location='cpu', weights_only=True)
    assert saved['meta']['epoch'] == 1 and saved['meta']['iter'] == 2

    resumed = train.main([tiny_cfg, '--work-dir', killed, '--resume'])
    assert (resumed.epoch, resumed.iter) == (3, 6)
    lrs_resumed = _lrs(killed)
    assert min(lrs_resumed) == 3  # the resumed run starts at iteration 3 (epoch 2)

    reference = train.main([tiny_cfg, '--work-dir', ref])
    assert (reference.epoch, reference.iter) == (3, 6)
    lrs_ref = _lrs(ref)
    assert lrs_ref[3] != lrs_ref[1]  # the schedule moves, so a reset would show
    for it in (3, 4, 5, 6):
        assert lrs_resumed[it] == pytest.approx(lrs_ref[it], rel=1e-9), it

    a = torch.load(osp.join(killed, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    b = torch.load(osp.join(ref, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    assert a['param_schedulers'] == b['param_schedulers']
    def same(x, y):
        """The same computation resumed from a checkpoint: equal up to float32 rounding
        relative to the tensor's scale; integer (BN counters) and all-zero tensors exactly."""
        if y.is_floating_point() and y.abs().max() > 0:
            return rel_diff(x, y) <= PARITY_RTOL
        return torch.equal(x, y)

    for k, v in b['state_dict'].items():
        assert same(a['state_dict'][k], v), k
    buf_a = a['optimizer']['state']
    buf_b = b['optimizer']['state']
    assert buf_a.keys() == buf_b.keys() and len(buf_a) > 100
    for k in buf_b:  # every optimizer state tensor (AdamW: exp_avg, exp_avg_sq, step)
        assert buf_a[k].keys() == buf_b[k].keys() and 'exp_avg' in buf_b[k], k
        for name, v in buf_b[k].items():
            assert same(buf_a[k][name], v), (k, name)

    # the loss curve figure of a real run
    png = plot_loss_curve(ref, str(tmp_path / 'loss.png'))
    assert osp.getsize(png) > 5000


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_torchrun_two_processes_gloo(tiny_cfg, tmp_path):
    """tools/dist_train.sh (torchrun, 2 processes) trains on the CPU with gloo, and
    tools/dist_test.sh tests the result."""
    work = str(tmp_path / 'dist')
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), tiny_cfg, '2',
           '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2']
    proc = subprocess.run(cmd, env=_env(tiny_cfg, PYTHON=PY, PORT=str(_free_port()),
                                        OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    log = open(next(osp.join(r, f) for r, _, fs in os.walk(work) for f in fs
                    if f.endswith('.log'))).read()
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    # 4 images, 2 per process and iteration: 1 iteration per epoch (2 on one process)
    assert 'Epoch(train) [2][1/1]' in log and '[1][2/2]' not in log
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    # tools/dist_test.sh evaluates that checkpoint on the same 2 processes
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), tiny_cfg,
           osp.join(work, 'epoch_2.pth'), '2', '--work-dir', work]
    proc = subprocess.run(cmd, env=_env(tiny_cfg, PYTHON=PY, PORT=str(_free_port()),
                                        OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- CLI behaviour

def test_train_cli_errors_are_one_line(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    train = import_module('rexnet_mm.tools.train')
    with pytest.raises(SystemExit, match='--amp needs a CUDA GPU'):
        train.main([tiny_cfg, '--amp', '--work-dir', str(tmp_path / 'a')])
    with pytest.raises(SystemExit, match=r"annotation file .*nowhere.* not found"):
        train.main([tiny_cfg, '--work-dir', str(tmp_path / 'b'), '--cfg-options',
                    'train_dataloader.dataset.data_root=/nowhere/'])
    no_scope = tmp_path / 'plain.py'
    no_scope.write_text('model = dict(type="Foo")\n')
    with pytest.raises(SystemExit, match='default_scope'):
        train.main([str(no_scope)])
    with pytest.raises(SystemExit, match='does not exist'):
        train.main([tiny_cfg, '--resume', str(tmp_path / 'missing.pth')])


def test_first_user_command_stops_on_missing_checkpoint(tmp_path):
    """`python tools/train.py configs/ssdlite_rexnet.py` without ImageNet weights."""
    proc = subprocess.run([PY, osp.join(ROOT, 'tools', 'train.py'),
                           osp.join(ROOT, 'configs', 'ssdlite_rexnet.py'),
                           '--work-dir', str(tmp_path / 'wd')], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert 'checkpoints/rexnet_1.0_imagenet.pth' in lines[0]
    assert 'model.backbone.init_cfg=None' in lines[0]


MMPRETRAIN_CFG = '''
default_scope = 'mmpretrain'
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=4, mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ReXNet', widen_factor=0.5, out_indices=(6,)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels={head},
              loss=dict(type='CrossEntropyLoss')))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root={root!r}, with_label=True,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
train_cfg = dict(by_epoch=True, max_epochs=1)
'''

MMSEG_CFG = '''
default_scope = 'mmseg'
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(64, 64)),
    backbone=dict(type='ReXNet', widen_factor=0.5, out_indices=(1, 2, 4, 5)),
    decode_head=dict(type='FCNHead', in_channels={s32}, in_index=3, channels=16, num_convs=1,
                     num_classes=2, loss_decode=dict(type='CrossEntropyLoss')),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BaseSegDataset', data_root={root!r},
                 data_prefix=dict(img_path='img', seg_map_path='ann'),
                 img_suffix='.png', seg_map_suffix='.png',
                 metainfo=dict(classes=('background', 'shape'), palette=[[0, 0, 0], [255, 0, 0]]),
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                           dict(type='PackSegInputs')]))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1))
'''


def test_same_train_script_serves_mmpretrain_and_mmseg(tmp_path):
    """tools/train.py dispatches on default_scope: one iteration each."""
    from PIL import Image
    from pycocotools import mask as mask_utils

    src = str(tmp_path / 'shapes')
    generate(src, num_train=4, num_val=1, size=64, seed=2)
    coco = json.load(open(osp.join(src, 'annotations', 'instances_train.json')))
    cls_root, seg_root = tmp_path / 'cls', tmp_path / 'seg'
    for sub in ('img', 'ann'):
        (seg_root / sub).mkdir(parents=True)
    for im in coco['images']:
        img = Image.open(osp.join(src, 'train', im['file_name'])).convert('RGB')
        first = next(a for a in coco['annotations'] if a['image_id'] == im['id'])
        label_dir = cls_root / CLASSES[first['category_id'] - 1]
        label_dir.mkdir(parents=True, exist_ok=True)
        img.save(label_dir / f"{im['id']}.png")
        seg = np.zeros((64, 64), np.uint8)
        for a in coco['annotations']:
            if a['image_id'] == im['id']:
                seg |= mask_utils.decode(mask_utils.merge(
                    mask_utils.frPyObjects(a['segmentation'], 64, 64)))
        img.save(seg_root / 'img' / f"{im['id']}.png")
        Image.fromarray(seg).save(seg_root / 'ann' / f"{im['id']}.png")
    train = import_module('rexnet_mm.tools.train')
    from rexnet_mm.models.backbones.rexnet import ReXNet
    taps = [c for c, _ in ReXNet(widen_factor=0.5).feature_info]
    for name, text, root in (('cls', MMPRETRAIN_CFG, cls_root), ('seg', MMSEG_CFG, seg_root)):
        cfg = tmp_path / f'{name}.py'
        cfg.write_text(text.format(root=str(root), head=taps[6], s32=taps[5]))
        runner = train.main([str(cfg), '--work-dir', str(tmp_path / f'wd_{name}')])
        assert runner.iter == (2 if name == 'cls' else 1)
        assert type(runner.model.backbone).__module__.startswith('rexnet_mm.')
