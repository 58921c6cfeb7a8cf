"""The GPU path: channels-last, AMP (mmengine's AmpOptimWrapper) and SyncBN. These run
where CUDA exists and skip cleanly where it does not (CI and the development machines
have no GPU; nothing else in the suite needs one)."""
import os
import os.path as osp
import socket

import pytest
import torch

import rexnet_mm  # noqa: F401

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')


@pytest.fixture
def no_tf32():
    """Full float32 matmuls and convs, so that layouts compare at float32 rounding."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_channels_last_gives_the_same_features_on_the_gpu(no_tf32):
    """A channels-last input through ReXNet on the GPU (left as it comes) equals the NCHW
    run to float32 rounding (relative 1e-4: cuDNN picks other algorithms per layout)."""
    from rexnet_mm.analysis.parity import randomize_, rel_diff
    from rexnet_mm.models.backbones.rexnet import ReXNet
    net = randomize_(ReXNet(out_indices=(1, 2, 4, 5)), seed=0).cuda().eval()
    x = torch.randn(2, 3, 128, 128, device='cuda')
    with torch.no_grad():
        ref = net(x)
        out = net(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(out, ref):
        assert rel_diff(a, b) < 1e-4


def test_amp_training_of_the_demo_detector(tmp_path):
    """tools' train(amp=True) on the SSDLite demo: AmpOptimWrapper, finite losses."""
    from rexnet_mm.apis import load_config, train
    from rexnet_mm.synthetic.shapes_coco import generate
    data = tmp_path / 'data'
    generate(str(data), num_train=8, num_val=2, size=128, seed=1)
    cfg = load_config(osp.join(CONFIGS, 'detection', 'demo', 'ssdlite_rexnet_shapes.py'),
                      None, work_dir=str(tmp_path / 'wd'), data_root=str(data) + '/')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100)
    cfg.param_scheduler = []
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    runner = train(cfg, amp=True)
    assert type(runner.optim_wrapper).__name__ == 'AmpOptimWrapper'
    assert next(runner.model.parameters()).is_cuda
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))


def test_syncbn_config_trains_a_step_in_a_process_group():
    """A shipped segmentation config keeps its SyncBN on the GPU (one process group of
    one): forward, backward, and BN statistics updated through SyncBatchNorm."""
    import torch.distributed as dist
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    cfg = Config.fromfile(osp.join(CONFIGS, 'segmentation', 'sem_fpn',
                                   'fpn_rexnet-1.0_4xb4-160k_ade20k-512x512.py'))
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    cfg.model.backbone.init_cfg = None
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('nccl', rank=0, world_size=1)
    try:
        init_default_scope('mmseg')
        model = MODELS.build(cfg.model).cuda().train()
        sync = [m for m in model.modules() if isinstance(m, torch.nn.SyncBatchNorm)]
        assert sync
        before = sync[0].running_mean.clone()
        samples = []
        for _ in range(2):
            sample = SegDataSample(metainfo=dict(img_shape=(128, 128), ori_shape=(128, 128),
                                                 pad_shape=(128, 128)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 128, 128)))
            samples.append(sample)
        data = model.data_preprocessor(
            {'inputs': [torch.rand(3, 128, 128) * 255 for _ in range(2)],
             'data_samples': samples}, True)
        losses = model.loss(data['inputs'], data['data_samples'])
        loss, _ = model.parse_losses(losses)
        loss.backward()
        assert torch.isfinite(loss)
        assert not torch.equal(sync[0].running_mean, before)
    finally:
        dist.destroy_process_group()
