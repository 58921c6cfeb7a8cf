"""Segmentation: the shipped mmseg configs build, train one step and predict (small inputs,
CPU); the demo config learns on generated shapes through tools/train.py and tools/test.py;
mmseg's own inferencers serve its checkpoint and agree with tools/test.py."""
import os
import os.path as osp
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import rexnet_mm  # noqa: F401
from rexnet_mm.apis.build import plain_bn

SEG = Path(__file__).resolve().parents[1] / 'configs' / 'segmentation'
CONFIGS = sorted(p for p in SEG.glob('*/*.py') if p.parent.name != 'demo')


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_segmentor_trains_and_predicts(path, tmp_path):
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    num_classes = 150 if 'ade20k' in path.name else 19
    assert cfg.model.decode_head.num_classes == num_classes
    # CPU, one process: SyncBN -> BN (every other norm setting as shipped), no ImageNet file
    cfg.model.backbone.init_cfg = None
    plain_bn(cfg.model)
    # LRASPP's image pooling is a fixed 49x49 window: at output stride 8 that needs 392 px
    n = 400 if cfg.model.decode_head.type == 'LRASPPHead' else 64
    cfg.model.data_preprocessor.size = (n, n)
    model = MODELS.build(cfg.model)
    model.init_weights()
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(n, n), ori_shape=(n, n),
                                        pad_shape=(n, n)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, n, n), generator=g))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 255, (3, n, n), generator=g, dtype=torch.uint8)
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
    assert pred.pred_sem_seg.data.shape == (1, n, n)
    _serve_with_mmseg_apis(cfg, model, n, num_classes, tmp_path)


def _serve_with_mmseg_apis(cfg, model, n, num_classes, tmp_path):
    """mmseg's MMSegInferencer and init_model/inference_model on the shipped config and a
    checkpoint in the Runner's format (what tools/train.py writes: state_dict + meta with
    the dataset's classes): a mask of the input's size, the same from both, and equal to
    the model's own prediction."""
    import numpy as np
    from mmengine.runner import save_checkpoint
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    classes = tuple(f'class{i}' for i in range(num_classes))
    ckpt = str(tmp_path / 'iter_1.pth')
    save_checkpoint({'state_dict': model.state_dict(),
                     'meta': {'dataset_meta': {'classes': classes,
                                               'palette': [[i, i, i] for i in range(num_classes)]}}},
                    ckpt)
    # the recipe's test resize (2048x512 / 2048x1024) made small for a CPU test
    # (MMSegInferencer reads test_dataloader's pipeline, inference_model cfg.test_pipeline)
    for step in cfg.test_dataloader.dataset.pipeline + cfg.test_pipeline:
        if step['type'] == 'Resize':
            step.update(scale=(n, n), keep_ratio=False)
    img = np.random.default_rng(0).integers(0, 255, (n, n, 3), dtype=np.uint8)
    inferencer = MMSegInferencer(model=cfg, weights=ckpt, device='cpu')
    mask = inferencer(img, return_datasamples=True).pred_sem_seg.data[0].numpy()
    assert mask.shape == (n, n) and mask.max() < num_classes
    assert tuple(inferencer.model.dataset_meta['classes']) == classes
    served = init_model(cfg, ckpt, device='cpu')
    mask2 = inference_model(served, img).pred_sem_seg.data[0].numpy()
    assert (mask == mask2).all()


# --------------------------------------------------------------------------- the demo

DEMO = SEG / 'demo' / 'fpn_rexnet-1.0_shapes.py'


@pytest.fixture(scope='module')
def trained_demo(tmp_path_factory):
    """The demo config, trained briefly on 16 generated 64 px images (through
    tools/train.py), and tested on them with tools/test.py (--out, --show-dir)."""
    from rexnet_mm.synthetic.shapes_seg import generate
    from rexnet_mm.tools import test as test_tool
    from rexnet_mm.tools import train as train_tool
    tmp = tmp_path_factory.mktemp('seg_demo')
    data = str(tmp / 'data')
    generate(data, num_train=16, num_val=1, size=64, seed=0)
    opts = ['train_cfg.max_iters=160', 'param_scheduler.0.end=10',
            'param_scheduler.1.T_max=160', 'param_scheduler.1.end=160',
            'train_cfg.val_interval=1000', 'default_hooks.logger.interval=5',
            'default_hooks.checkpoint.interval=160', 'model.data_preprocessor.size=(64,64)']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data}/', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.dataset.data_prefix.img_path=img_dir/train',
                 f'{loader}.dataset.data_prefix.seg_map_path=ann_dir/train']
    work = str(tmp / 'work')
    runner = train_tool.main([str(DEMO), '--work-dir', work, '--cfg-options', *opts])
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    ckpt = osp.join(work, 'iter_160.pth')
    metrics = test_tool.main([str(DEMO), ckpt, '--work-dir', work, '--out', str(tmp / 'preds'),
                              '--show-dir', str(tmp / 'show'), '--cfg-options', *opts])
    return dict(data=data, ckpt=ckpt, losses=losses, metrics=metrics,
                preds=str(tmp / 'preds'), show=str(tmp / 'show'), opts=opts)


def _constant_miou(ann_dir):
    """mIoU of predicting the most frequent class everywhere (mmseg's definition: classes
    absent from both prediction and ground truth do not count)."""
    import numpy as np
    from PIL import Image
    labels = np.concatenate([np.asarray(Image.open(osp.join(ann_dir, f))).ravel()
                             for f in sorted(os.listdir(ann_dir))])
    labels = labels[labels != 255]
    counts = np.bincount(labels, minlength=5)
    majority = counts.argmax()
    ious = [counts[majority] / labels.size if c == majority else 0.0
            for c in range(5) if counts[c] > 0]
    return 100 * float(np.mean(ious))


@pytest.mark.slow
def test_demo_config_learns_shapes(trained_demo):
    losses = trained_demo['losses']
    assert losses[-5:].mean() < 0.5 * losses[:3].mean(), (losses[:3], losses[-5:])
    miou = trained_demo['metrics']['mIoU']
    floor = _constant_miou(osp.join(trained_demo['data'], 'ann_dir', 'train'))
    assert 10 < floor < 25  # background everywhere
    assert miou >= floor + 30, (miou, floor)  # measured here: 81.4 (one thread, busy machine)
    # --out kept a label map per image, --show-dir drew overlays
    assert len(os.listdir(trained_demo['preds'])) == 16
    assert any(f.endswith('.png') for _, _, fs in os.walk(trained_demo['show']) for f in fs)


@pytest.mark.slow
def test_mmseg_inferencer_and_apis_match_tools_test(trained_demo):
    """mmseg's own MMSegInferencer and init_model/inference_model on the shipped config and
    the checkpoint tools/train.py wrote: masks of the input's size, the trained classes,
    and the same labels tools/test.py --out wrote."""
    import numpy as np
    from mmengine.config import Config
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    from PIL import Image
    cfg = Config.fromfile(str(DEMO))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in trained_demo['opts']
                             if o.startswith('model.')))
    cfg.model.data_preprocessor.size = (64, 64)
    img = osp.join(trained_demo['data'], 'img_dir', 'train', '000003.jpg')
    expected = np.asarray(Image.open(osp.join(trained_demo['preds'], '000003.png')))
    inferencer = MMSegInferencer(model=cfg, weights=trained_demo['ckpt'], device='cpu')
    result = inferencer(img, return_datasamples=True)
    mask = result.pred_sem_seg.data[0].numpy()
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= set(range(5))
    assert tuple(inferencer.model.dataset_meta['classes']) == (  # from the checkpoint
        'background', 'circle', 'square', 'triangle', 'cross')
    model = init_model(cfg, trained_demo['ckpt'], device='cpu')
    mask2 = inference_model(model, img).pred_sem_seg.data[0].numpy()
    assert (mask == expected).mean() >= 0.999 and (mask2 == expected).mean() >= 0.999


@pytest.mark.parametrize('name,expected', [
    ('sem_fpn/fpn_rexnet-1.0_4xb2-80k_cityscapes-512x1024.py', 'leftImg8bit/{train,val}'),
    ('deeplabv3plus/deeplabv3plus_rexnet-1.0-d8_4xb4-160k_ade20k-512x512.py',
     'images/{training,validation}')])
def test_missing_dataset_folder_is_one_line(name, expected, tmp_path, monkeypatch):
    """No Cityscapes/ADE20K here: train.py stops before building anything, with one line
    naming the folder it looked for, the layout it expects and the option to set."""
    from rexnet_mm.tools import train as train_tool
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        train_tool.main([str(SEG / name), '--work-dir', str(tmp_path / 'wd'),
                         '--cfg-options', 'model.backbone.init_cfg=None'])
    msg = str(exc.value.code)
    assert '\n' not in msg and expected in msg and '--data-root DIR' in msg, msg
    assert not (tmp_path / 'wd').exists() or not list((tmp_path / 'wd').rglob('*.pth'))
