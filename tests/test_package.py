"""The package itself: imports, registries, and the upstream fixes it applies."""
import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

import rexnet_mm
from rexnet_mm.fixes import checkpoint_loading


@pytest.mark.slow
def test_whole_stack_imports():
    code = 'import rexnet_mm, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, timm'
    subprocess.run([sys.executable, '-c', code], check=True)


def test_installed_toolboxes_satisfy_our_requirements():
    """The versions installed are inside the ranges setup.py declares (not one pin)."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement
    checked = set()
    for line in requires('rexnet_mm'):
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({'extra': 'tests'}):
            continue
        if req.name in ('mmcv', 'mmdet', 'mmengine', 'mmsegmentation', 'mmpretrain'):
            assert req.specifier.contains(version(req.name), prereleases=True), \
                (req, version(req.name))
            checked.add(req.name)
    assert checked == {'mmcv', 'mmdet', 'mmengine', 'mmsegmentation', 'mmpretrain'}


@pytest.mark.parametrize('module', ['mmdet.registry', 'mmseg.registry', 'mmpretrain.registry'])
def test_rexnet_registered_in_every_toolbox(module):
    registry = importlib.import_module(module).MODELS
    from rexnet_mm.models.backbones.rexnet import ReXNet
    assert registry.get('ReXNet') is ReXNet
    assert registry.get('rexnet_mm.ReXNet') is ReXNet


def test_toolbox_names_are_not_shadowed():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    from mmdet.registry import MODELS as DET
    from mmpretrain.models.backbones import RegNet as MMPretrainRegNet
    from mmpretrain.registry import MODELS as CLS
    assert DET.get('RegNet') is MMDetRegNet
    assert CLS.get('RegNet') is MMPretrainRegNet


def test_register_refuses_to_shadow_a_toolbox_class():
    from rexnet_mm.registry import register_model
    with pytest.raises(KeyError, match='already registered in mmdet'):
        @register_model(name='ShadowTestResNet', toolbox_name='ResNet')
        class ResNet(nn.Module):  # noqa: F811
            pass


def test_custom_imports_from_a_config_string(tmp_path):
    """What a user writes: plain type names after custom_imports."""
    from mmengine.config import Config
    from mmdet.registry import MODELS
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text("custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)\n"
                        "model = dict(type='ReXNet', widen_factor=1.0, out_indices=(5,))\n")
    cfg = Config.fromfile(str(cfg_file))
    backbone = MODELS.build(cfg.model)
    assert backbone.out_channels == (185,)


# ------------------------------------------------------------------ SSDHead inference fix

def _ssdlite_model():
    from mmengine.hub import get_config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = get_config('mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py')
    cfg.model.bbox_head.num_classes = 3
    cfg.model.test_cfg.score_thr = 0.0
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def _predict(model):
    from mmdet.structures import DetDataSample
    torch.manual_seed(0)
    sample = DetDataSample(metainfo=dict(img_shape=(320, 320), ori_shape=(320, 320),
                                         scale_factor=(1.0, 1.0), pad_shape=(320, 320)))
    with torch.no_grad():
        return model.predict(torch.rand(1, 3, 320, 320), [sample])[0]


def test_ssdlite_predicts_boxes_after_fix():
    from mmdet.models.dense_heads import SSDHead
    model = _ssdlite_model()
    assert rexnet_mm.fixes.APPLIED['ssd_head'] is True
    result = _predict(model)
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > 0
    assert result.pred_instances.labels.max() < 3
    assert (result.pred_instances.scores >= 0).all() and (result.pred_instances.scores <= 1).all()
    # the defect is real: without the fix the same call fails as upstream does
    del SSDHead.loss_cls
    try:
        with pytest.raises(AttributeError, match='loss_cls'):
            _predict(model)
    finally:
        SSDHead.loss_cls = None


# ------------------------------------------------------- Runner checkpoints: resume, load_from

class ToyModel(nn.Module):
    pass


def _runner(work_dir, max_iters, **kwargs):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='tensor'):
            out = self.linear(inputs)
            if mode == 'loss':
                return dict(loss=((out.squeeze(1) - labels) ** 2).mean())
            return out

    g = torch.Generator().manual_seed(0)
    xs = torch.randn(64, 2, generator=g)
    data = [dict(inputs=x, labels=x.sum() * 0.5) for x in xs]
    return Runner(
        model=Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=False, milestones=[4], gamma=0.5),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1000),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), **kwargs)


@pytest.mark.slow
def test_runner_checkpoint_needs_the_fix(tmp_path):
    """The Runner's own checkpoints load weights-only thanks to the fix, and not without
    it. (Resuming a killed detector training from one is tests/test_tools.py's
    test_killed_training_resumes_where_it_stopped.)"""
    _runner(tmp_path / 'a', max_iters=3).train()
    ckpt = tmp_path / 'a' / 'iter_3.pth'
    saved = torch.load(ckpt, weights_only=True)  # works with the allow-list
    assert saved['meta']['iter'] == 3

    # the defect is real: torch's plain weights-only loader refuses the file
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(Exception, match='Unsupported global|weights_only'):
            torch.load(ckpt, weights_only=True)
    finally:
        checkpoint_loading.allow_runner_checkpoints()

    # load_from without resume: weights only, iteration count starts at 0
    fresh = _runner(tmp_path / 'c', max_iters=1, load_from=str(ckpt))
    fresh.load_or_resume()
    assert fresh.iter == 0
    assert torch.equal(fresh.model.linear.weight, saved['state_dict']['linear.weight'])


def test_allow_list_stays_narrow(tmp_path):
    """A checkpoint that needs arbitrary code is still refused."""
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': ToyModel()}, path)
    from mmengine.runner import load_checkpoint
    with pytest.raises(Exception, match='Unsupported global|weights_only'):
        load_checkpoint(nn.Linear(1, 1), str(path))
    # while numpy scalars, as mmengine writes them, are fine
    ok = tmp_path / 'ok.pth'
    torch.save({'meta': {'x': np.float64(1.5), 'a': np.arange(3)}, 'state_dict': {}}, ok)
    assert torch.load(ok, weights_only=True)['meta']['x'] == 1.5


def test_history_buffer_getattr_is_restricted():
    from mmengine.logging.history_buffer import HistoryBuffer
    from rexnet_mm.fixes.checkpoint_loading import history_buffer_getattr
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    import pickle
    for obj, name in ((HistoryBuffer, '__init__'), (np.ndarray, 'tofile'), (torch, 'load')):
        with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
            history_buffer_getattr(obj, name)
