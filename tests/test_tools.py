"""tools/train.py, tools/test.py, tools/coco_eval.py, the shapes generator and figures.

Independent references used here:
* pycocotools called directly (COCO / COCOeval) on the same files as tools/coco_eval.py,
  and the exact scores of perfect predictions (1.0);
* the generator's polygons rasterised by pycocotools against its boxes and areas.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
from importlib import import_module

import pytest

import rexnet_mm  # noqa: F401
from rexnet_mm.synthetic.shapes_coco import CLASSES, generate, main as gen_main
from rexnet_mm.apis import coco_evaluate
from rexnet_mm.analysis.plots import draw_detections

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_first_user_command_stops_on_missing_checkpoint(tmp_path):
    """`python tools/train.py configs/ssdlite_rexnet.py` offline with an empty weights
    cache (the suite runs offline, tests/conftest.py): one line naming the sources, the
    file and where to put it."""
    proc = subprocess.run([PY, osp.join(ROOT, 'tools', 'train.py'),
                           osp.join(ROOT, 'configs', 'ssdlite_rexnet.py'),
                           '--work-dir', str(tmp_path / 'wd')], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for part in ('cannot fetch rexnet_mm://rexnet-1.0 (offline',
                 'model.safetensors from https://huggingface.co/timm/rexnet_100.nav_in1k',
                 'rexnetv1_1.0x.pth from https://drive.google.com/',
                 osp.join(os.environ['REXNET_MM_CACHE'], 'weights', 'manual', 'rexnet-1.0'),
                 'tools/fetch_weights.py rexnet_mm://rexnet-1.0'):
        assert part in lines[0], lines[0]
    assert not (tmp_path / 'wd').exists()


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


@pytest.mark.slow
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


# --------------------------------------------------------------------------- command contract

@pytest.mark.slow
def test_exit_status_is_the_same_however_a_command_is_started(val_data, tmp_path):
    """0 on success (no returned value printed), 1 on a handled error (one line), for
    ``python -m rexnet_mm.tools.X`` and ``python tools/X.py`` (the console scripts:
    tests/test_wheel.py). Run side by side: each pays a full import."""
    ann = osp.join(val_data, 'annotations', 'instances_val.json')
    boxes, _ = _perfect_results(ann)
    res = str(tmp_path / 'r.bbox.json')
    with open(res, 'w') as f:
        json.dump(boxes, f)
    script, module = [PY, osp.join(ROOT, 'tools', 'coco_eval.py')], [
        PY, '-m', 'rexnet_mm.tools.coco_eval']
    cases = {'script ok': (script + [ann, '--bbox', res], 0),
             'module error': (module + [ann, '--bbox', str(tmp_path / 'none.json')], 1)}
    env = dict(os.environ, PYTHONPATH=ROOT)  # this checkout, not an installed copy
    procs = {name: subprocess.Popen(cmd, cwd=str(tmp_path), env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name, (cmd, _) in cases.items()}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == cases[name][1], (name, out[-2000:], err[-2000:])
        assert "{'bbox'" not in err and 'Traceback' not in err, (name, err)
        if name.endswith('ok'):
            assert 'bbox: AP=1.000' in out, out
        else:
            assert err.strip().splitlines()[-1].startswith("error: results file "), err


def test_usage_errors_exit_2_and_name_the_command_as_started(monkeypatch, capsys):
    """``python -m rexnet_mm.tools.train --help`` said ``usage: train.py``."""
    train = import_module('rexnet_mm.tools.train')
    for argv0, prog in ((train.__file__, 'python -m rexnet_mm.tools.train'),
                        (osp.join(ROOT, 'tools', 'train.py'), 'train.py'),
                        ('/venv/bin/rexnet-mm-train', 'rexnet-mm-train')):
        monkeypatch.setattr(sys, 'argv', [argv0])
        with pytest.raises(SystemExit) as exc:
            train.cli([])
        assert exc.value.code == 2
        assert capsys.readouterr().err.startswith(f'usage: {prog} '), prog


def test_only_our_errors_are_one_line_and_debug_shows_the_traceback(val_data, tmp_path,
                                                                   monkeypatch, capsys):
    import rexnet_mm.apis.evaluation as evaluation
    coco_eval = import_module('rexnet_mm.tools.coco_eval')
    ann = osp.join(val_data, 'annotations', 'instances_val.json')
    missing = str(tmp_path / 'missing.json')
    for debug_env, flag in ((None, []), ('1', []), (None, ['--debug'])):
        if debug_env:
            monkeypatch.setenv('REXNET_MM_DEBUG', debug_env)
        else:
            monkeypatch.delenv('REXNET_MM_DEBUG', raising=False)
        with pytest.raises(SystemExit) as exc:
            coco_eval.main([ann, '--bbox', missing] + flag)
        assert str(exc.value.code) == f'error: results file {missing!r} does not exist'
        err = capsys.readouterr().err
        shown = bool(debug_env or flag)
        assert ('Traceback' in err and 'MissingFileError' in err) == shown, err
    monkeypatch.delenv('REXNET_MM_DEBUG', raising=False)

    # a FileNotFoundError from code that is not ours (here: evaluate replaced by one that
    # fails on an internal file) is a defect: its traceback stays
    def broken(*args, **kwargs):
        raise FileNotFoundError(2, 'No such file or directory', '/internal/cache.bin')
    monkeypatch.setattr(evaluation, 'evaluate', broken)
    with pytest.raises(FileNotFoundError):
        coco_eval.main([ann, '--bbox', missing])

    # ... unless it names a file the user gave on the command line
    def user_file(*args, **kwargs):
        raise FileNotFoundError(2, 'No such file or directory', missing)
    monkeypatch.setattr(evaluation, 'evaluate', user_file)
    with pytest.raises(SystemExit, match=r"^error: '.*missing.json' does not exist"):
        coco_eval.main([ann, '--bbox', missing])


@pytest.mark.parametrize('option,expected', [
    ('train_dataloader.batch_size=abc',
     "train_dataloader.batch_size='abc': expected a positive integer (the config has 8)"),
    ('train_dataloader.batch_size=0', 'batch_size=0: expected a positive integer'),
    ('train_cfg.max_epochs=1.5', 'max_epochs=1.5: expected a positive integer'),
    ('optim_wrapper.optimizer.lr=fast', "lr='fast': expected a number (the config has 0.002)"),
    ('model.backbone.out_indices=4', 'out_indices=4: expected a list'),
    ('train_dataloader.persistent_workers=yes',
     "persistent_workers='yes': expected true or false")])
def test_cfg_options_are_checked_before_anything_is_built_or_written(option, expected,
                                                                     tmp_path, monkeypatch):
    """Without the check, mmengine builds the Runner (a timestamped folder and the dumped
    config in the work dir) and fails with a traceback at the dataloader or later."""
    monkeypatch.chdir(tmp_path)
    train = import_module('rexnet_mm.tools.train')
    with pytest.raises(SystemExit) as exc:
        train.main(['ssdlite_rexnet_shapes', '--work-dir', str(tmp_path / 'wd'),
                    '--cfg-options', 'randomness.seed=1', option])
    msg = str(exc.value.code)
    assert msg.startswith('error: --cfg-options ') and '\n' not in msg, msg
    assert expected in msg, msg
    assert os.listdir(tmp_path) == []


def test_a_shipped_config_by_name_and_one_data_root(val_data, tmp_path, monkeypatch):
    """Outside the checkout (the config's data/shapes_coco_v3/ is not there): the name
    finds the shipped config, and --data-root (or a data_root option, or data_root set in
    a user's config over ours) moves every dataset and the evaluators' annotation file."""
    from rexnet_mm.apis.checks import check_coco, check_data
    from rexnet_mm.apis.config import ConfigError, load_config
    monkeypatch.chdir(tmp_path)
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    root = val_data + '/'
    user = tmp_path / 'mine.py'
    user.write_text(f"_base_ = {rexnet_mm.get_config_path('ssdlite_rexnet_shapes')!r}\n"
                    f"data_root = {root!r}\n")
    for cfg in (load_config('ssdlite_rexnet_shapes', data_root=val_data),
                load_config('detection/demo/ssdlite_rexnet_shapes.py', {'data_root': root}),
                load_config(str(user))):
        assert {cfg[k].dataset.data_root for k in loaders} == {root}
        for k in ('val_evaluator', 'test_evaluator'):
            assert cfg[k].ann_file == root + 'annotations/instances_val.json'
        check_data(cfg, loaders)
        check_coco(cfg, loaders)
    assert load_config('ssdlite_rexnet_shapes').work_dir == './work_dirs/ssdlite_rexnet_shapes'
    with pytest.raises(ConfigError, match='pass --data-root DIR'):
        check_data(load_config('ssdlite_rexnet_shapes'), loaders)
    # the test loader's data_root alone (the old hint): the evaluator's annotation file is
    # reported before anything is built, naming the option
    cfg = load_config('ssdlite_rexnet_shapes', {'test_dataloader.dataset.data_root': root})
    with pytest.raises(ConfigError, match=r'\(test_evaluator.ann_file\) not found: pass '
                                          r'--data-root DIR'):
        check_data(cfg, ('test_dataloader', ))
    with pytest.raises(ConfigError, match='nor is it the name of a shipped config'):
        load_config('ssdlite_rexnet_shapes_v9')
    with pytest.raises(ConfigError, match='nor is it the name'):  # a path is not a name
        load_config('elsewhere/ssdlite_rexnet_shapes.py')
