"""The shipped mmseg configs build, train one step and predict (small inputs, CPU)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import rexnet_mm  # noqa: F401

CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'configs' / 'segmentation').glob('*.py'))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_segmentor_trains_and_predicts(path):
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.decode_head.num_classes == 150
    # CPU, one process: plain BN, no ImageNet file; everything else as shipped
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.data_preprocessor.size = (64, 64)
    model = MODELS.build(cfg.model)
    model.init_weights()
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                        pad_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64), generator=g))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), generator=g, dtype=torch.uint8)
                        for _ in range(2)], data_samples=samples)
    model.train()
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    stem = next(model.backbone.parameters())  # the first conv's weight
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        pred = model.test_step(data)[0]
    assert pred.pred_sem_seg.data.shape == (1, 64, 64)
