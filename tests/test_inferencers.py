"""Toolboxes mixed in one process (rexnet_mm.fixes.default_scope).

mmengine's default scope is process-global: unfixed, mmpretrain's inferencer after
mmseg's looks ``ResizeEdge`` up in mmseg's registry and fails, and mmdet's
``inference_detector`` after it builds its pipeline from mmseg's registry. Here mmseg's,
mmpretrain's and mmdet's inferencers and APIs run interleaved on our configs and give
what each gives alone, and the caller's default scope is what it was.
"""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

import rexnet_mm

#: three toolboxes' models built and run, twice: ~30 s on 2 cores
pytestmark = pytest.mark.slow


def _current_scope():
    current = DefaultScope.get_current_instance()
    return current.scope_name if current is not None else None


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Random-weight checkpoints (seeded) for the three toolboxes' demo-sized configs."""
    from mmengine.runner import save_checkpoint
    from mmpretrain import get_model
    tmp = tmp_path_factory.mktemp('mixed')
    torch.manual_seed(0)
    classifier = get_model('rexnet-1.0_4xb128_in1k')
    paths = dict(cls=str(tmp / 'cls.pth'), seg=str(tmp / 'seg.pth'), det=str(tmp / 'det.pth'))
    save_checkpoint({'state_dict': classifier.state_dict()}, paths['cls'])
    from mmdet.apis import init_detector
    from mmseg.apis import init_model
    for key, build in (('seg', lambda: init_model(_seg_cfg(), device='cpu')),
                       ('det', lambda: init_detector(_det_cfg(), device='cpu'))):
        save_checkpoint({'state_dict': build().state_dict()}, paths[key])
    assert _current_scope() is None  # init_* did not leave their scopes behind
    return paths


def _seg_cfg():
    cfg = rexnet_mm.get_config('segmentation/demo/fpn_rexnet-1.0_shapes.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)
    return cfg


def _det_cfg():
    cfg = rexnet_mm.get_config('detection/demo/ssdlite_rexnet_shapes.py')
    cfg.model.backbone.init_cfg = None
    return cfg


def _classify(ckpt, img):
    from mmpretrain import ImageClassificationInferencer
    return ImageClassificationInferencer('rexnet-1.0_4xb128_in1k', pretrained=ckpt)(img)[0]


def _segment(ckpt, img):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=_seg_cfg(), weights=ckpt, device='cpu')
    return inferencer(img, return_datasamples=True).pred_sem_seg.data


def _detect(ckpt, img):
    from mmdet.apis import inference_detector, init_detector
    return inference_detector(init_detector(_det_cfg(), ckpt, device='cpu'), img).pred_instances


def test_toolboxes_mix_in_one_process(checkpoints):
    img = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    alone = _classify(checkpoints['cls'], img)  # before any other toolbox ran
    seg = _segment(checkpoints['seg'], img)
    assert _current_scope() is None
    after_seg = _classify(checkpoints['cls'], img)  # failed here before the fix
    assert after_seg['pred_label'] == alone['pred_label']
    np.testing.assert_array_equal(after_seg['pred_scores'], alone['pred_scores'])
    det = _detect(checkpoints['det'], img)
    assert _current_scope() is None
    # the caller's own scope survives every toolbox's entry points
    with rexnet_mm.default_scope('mmpretrain'):
        assert torch.equal(_segment(checkpoints['seg'], img), seg)
        det_again = _detect(checkpoints['det'], img)
        assert _current_scope() == 'mmpretrain'
    assert torch.equal(det_again.bboxes, det.bboxes) and torch.equal(det_again.labels,
                                                                      det.labels)
    assert _current_scope() is None


def test_our_entry_points_restore_the_callers_scope(tmp_path):
    """tools/train.py's logic (a Runner, which sets mmdet's scope process-wide) returns
    with the caller's scope in place."""
    from rexnet_mm.apis import load_config, train
    from rexnet_mm.synthetic.shapes_coco import generate
    data = str(tmp_path / 'data')
    generate(data, num_train=2, num_val=1, size=64, seed=0)
    opts = {'model.backbone.init_cfg': None, 'train_cfg.max_epochs': 1,
            'train_cfg.val_begin': 100, 'default_hooks.checkpoint.save_optimizer': False}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{loader}.batch_size': 2, f'{loader}.num_workers': 0,
                     f'{loader}.persistent_workers': False,
                     f'{loader}.dataset.data_root': data + '/',
                     f'{loader}.dataset.ann_file': 'annotations/instances_train.json',
                     f'{loader}.dataset.data_prefix.img': 'train/'})
    for evaluator in ('val_evaluator', 'test_evaluator'):
        opts[f'{evaluator}.ann_file'] = data + '/annotations/instances_train.json'
    cfg = load_config(rexnet_mm.get_config_path('detection/demo/ssdlite_rexnet_shapes.py'),
                      opts, 'none', str(tmp_path / 'wd'))
    with rexnet_mm.default_scope('mmseg'):
        runner = train(cfg)
        assert _current_scope() == 'mmseg'
    assert runner.iter == 1
    assert _current_scope() is None
