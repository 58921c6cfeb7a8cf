"""Training speed and memory against the peers a user would pick instead
(``tools/analysis/benchmark_train.py``).

For each task family, the variants are trained side by side in one process, one step of
each in turn (``repeats`` rounds, medians after a warm-up step), so that a change of the
machine's load hits them alike. A step is what mmengine's loop does per iteration:
the model's ``loss`` on a batch already through its data preprocessor, backward, and an
SGD step. Variants:

* ours: the shipped config (and, for SSDLite, our ReXNet-1.0 at the TIMMBackbone's taps);
* ``mmpretrain.TIMMBackbone`` around timm's ``rexnet_100`` at the same taps (the peer
  one config line away), fed NCHW and, at its best on the CPU, channels-last input;
* the toolbox's own backbone for that model (mmdet's SSDLite-MobileNetV2, Faster R-CNN
  RegNetX-3.2GF and ResNet-50; mmseg's Semantic FPN ResNet-50).

Peak memory is measured per variant in a fresh process (peak RSS of two steps on the CPU,
``torch.cuda.max_memory_allocated`` on a GPU), so that variants do not share a high-water
mark. Weights are random (:func:`~.parity.randomize_`; no downloads); inputs are random
images with three boxes (detection) or a random label map (segmentation).
"""
import multiprocessing
import os.path as osp
import time

import torch

from ..utils import progress_bar
from .benchmark import median_times
from .parity import randomize_

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
#: TIMMBackbone(rexnet_100, features_only) taps: 16@2, 38@4, 61@8, 128@16, 185@32;
#: ours at the same places: out_indices 0, 1, 2, 4, 5
TIMM_TAPS = {(4, 5): (3, 4), (1, 2, 4, 5): (1, 2, 3, 4)}


def _timm_backbone(out_indices):
    return dict(_delete_=True, type='mmpretrain.TIMMBackbone', model_name='rexnet_100',
                features_only=True, pretrained=False, out_indices=TIMM_TAPS[out_indices])


def variants(family):
    """``[(name, config path or pkg:: name, options, channels_last input)]``."""
    ssd = osp.join(CONFIGS, 'ssdlite_rexnet.py')
    rcnn = osp.join(CONFIGS, 'detection', 'faster-rcnn', 'faster-rcnn_rexnet-1.0_fpn_1x_coco.py')
    seg = osp.join(CONFIGS, 'segmentation', 'sem_fpn', 'fpn_rexnet-1.0_4xb4-160k_ade20k-512x512.py')
    neck = (128, 185, 512, 256, 256, 128)
    equal_taps = {'model.backbone.out_indices': (4, 5), 'model.neck.in_channels': neck[:2],
                  'model.neck.out_channels': neck, 'model.bbox_head.in_channels': neck}
    if family == 'ssdlite':
        return [
            ('SSDLite ReXNet-1.0, shipped (128 @ /16, 1280-ch head conv @ /32)', ssd, {}, False),
            ('SSDLite ReXNet-1.0, shipped, with_cp (gradient checkpointing)', ssd,
             {'model.backbone.with_cp': True}, False),
            ('SSDLite ReXNet-1.0, taps 128 @ /16 + 185 @ /32', ssd, equal_taps, False),
            ('SSDLite TIMMBackbone rexnet_100, same taps', ssd,
             dict(equal_taps, **{'model.backbone': _timm_backbone((4, 5))}), False),
            ('SSDLite TIMMBackbone rexnet_100, same taps, channels-last input', ssd,
             dict(equal_taps, **{'model.backbone': _timm_backbone((4, 5))}), True),
            ('SSDLite MobileNetV2 (mmdet)',
             'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', {}, False),
            ('SSDLite MobileNetV2 (mmdet), channels-last input',
             'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', {}, True),
        ]
    if family == 'faster-rcnn':
        return [
            ('Faster R-CNN ReXNet-1.0 FPN (ours)', rcnn, {}, False),
            ('Faster R-CNN TIMMBackbone rexnet_100 FPN, same taps', rcnn,
             {'model.backbone': _timm_backbone((1, 2, 4, 5))}, False),
            ('Faster R-CNN RegNetX-3.2GF FPN (mmdet)',
             'mmdet::regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py', {}, False),
            ('Faster R-CNN ResNet-50 FPN (mmdet)',
             'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', {}, False),
        ]
    if family == 'segmentation':
        return [
            ('Semantic FPN ReXNet-1.0 (ours)', seg, {}, False),
            ('Semantic FPN TIMMBackbone rexnet_100, same taps', seg,
             {'model.backbone': _timm_backbone((1, 2, 4, 5))}, False),
            ('Semantic FPN TIMMBackbone rexnet_100, same taps, channels-last input', seg,
             {'model.backbone': _timm_backbone((1, 2, 4, 5))}, True),
            ('Semantic FPN ResNet-50 (mmseg)', 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
             {}, False),
        ]
    raise ValueError(f'unknown family {family!r}: ssdlite, faster-rcnn or segmentation')


FAMILIES = ('ssdlite', 'faster-rcnn', 'segmentation')
#: batch and input size per family (CPU-sized; the GPU default is the recipes' own batch)
SETTINGS = {'ssdlite': (8, 320), 'faster-rcnn': (2, 512), 'segmentation': (4, 256)}


def build(path, options, device='cpu'):
    """``(model, scope)``: a random-weight model of a config (+ options), plain BN."""
    from mmengine.registry import MODELS

    from ..apis.build import load_any_config, plain_bn
    from ..fixes import default_scope
    cfg = load_any_config(path)
    cfg.merge_from_dict(options)
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    plain_bn(cfg.model)
    scope = cfg.get('default_scope') or path.split('::')[0]
    if 'TIMMBackbone' in str(cfg.model.backbone.get('type')):
        import mmpretrain.models  # noqa: F401  (registers TIMMBackbone)
    with default_scope(scope):
        model = MODELS.build(cfg.model)
    randomize_(model, seed=0, bn_scale=0.5, shift=0.1)
    return model.to(device).train(), scope


def batch(model, scope, family, size, n, device='cpu', channels_last=False, seed=0):
    """``(inputs, data_samples)`` of ``n`` random images (3 boxes each, or a label map)
    through the model's own data preprocessor (training mode)."""
    g = torch.Generator().manual_seed(seed)
    images = [(torch.rand(3, size, size, generator=g) * 255) for _ in range(n)]
    samples = []
    for _ in range(n):
        if family == 'segmentation':
            from mmseg.structures import SegDataSample
            from mmengine.structures import PixelData
            s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                            pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, size, size), generator=g))
        else:
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                            pad_shape=(size, size), scale_factor=(1., 1.)))
            xy = torch.rand(3, 2, generator=g) * size * 0.6
            wh = torch.rand(3, 2, generator=g) * size * 0.3 + size * 0.1
            s.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                          labels=torch.randint(0, 4, (3,), generator=g))
        samples.append(s)
    from ..fixes import default_scope
    with default_scope(scope):
        data = model.data_preprocessor({'inputs': images, 'data_samples': samples}, True)
    inputs = data['inputs'].to(device)
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    return inputs, data['data_samples']


def train_step_fn(model, scope, inputs, samples):
    """One training iteration (loss, backward, SGD step) as a callable."""
    from ..fixes import default_scope
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4)

    def step():
        with default_scope(scope):
            losses = model.loss(inputs, samples)
            loss, _ = model.parse_losses(losses)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if inputs.is_cuda:
            torch.cuda.synchronize()
    return step


def _peak_memory(args):
    """Child process: peak memory of two training steps of one variant, in MiB."""
    family, (name, path, options, channels_last), n, size, device, threads = args
    torch.set_num_threads(threads)
    model, scope = build(path, options, device)
    inputs, samples = batch(model, scope, family, size, n, device, channels_last)
    step = train_step_fn(model, scope, inputs, samples)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    step()
    step()
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2 ** 20
    # VmHWM, the peak RSS of this process's memory: getrusage's ru_maxrss would not do,
    # Linux keeps it across the exec that started this process (the parent's peak)
    with open('/proc/self/status') as f:
        hwm = next(line for line in f if line.startswith('VmHWM:'))
    return int(hwm.split()[1]) / 1024  # kB


def run(families=FAMILIES, repeats=5, threads=2, device='cpu', memory=True, settings=None):
    """Rows of every family: step ms, images/s, peak memory (MiB)."""
    torch.set_num_threads(threads)
    settings = dict(SETTINGS, **(settings or {}))
    result = dict(threads=threads, repeats=repeats, device=device, families=[])
    for family in families:
        n, size = settings[family]
        rows, fns = [], []
        for var in variants(family):
            name, path, options, channels_last = var
            model, scope = build(path, options, device)
            inputs, samples = batch(model, scope, family, size, n, device, channels_last)
            fns.append(train_step_fn(model, scope, inputs, samples))
            rows.append(dict(name=name))
        bar = progress_bar(repeats)
        for row, t in zip(rows, median_times(fns, repeats, bar, no_grad=False)):
            row.update(step=t, ips=n / t)
        del fns
        if memory:
            ctx = multiprocessing.get_context('spawn')
            with ctx.Pool(1, maxtasksperchild=1) as pool:
                peaks = pool.map(_peak_memory, [(family, v, n, size, device, threads)
                                                for v in variants(family)], chunksize=1)
            for row, peak in zip(rows, peaks):
                row['peak_mib'] = peak
        result['families'].append(dict(family=family, batch=n, size=size, rows=rows))
    return result


def format_tables(res):
    """Markdown: step ms, images/s, peak memory and ratios to the first row (ours) and to
    the toolbox's own backbone (the last NCHW row of mmdet/mmseg)."""
    mem = 'peak RSS' if res['device'] == 'cpu' else 'peak CUDA memory'
    lines = [f"{res['device']}, {res['threads']} threads, median of {res['repeats']} "
             f"round-robin training steps (loss, backward, SGD step), random weights"]
    for fam in res['families']:
        rows = fam['rows']
        ours = rows[0]['step']
        toolbox = next(r['step'] for r in rows
                       if ('(mmdet)' in r['name'] or '(mmseg)' in r['name']))
        lines += ['', f"{fam['family']}: batch {fam['batch']}, {fam['size']}x{fam['size']}",
                  '', f'| variant | step ms | images/s | {mem} MiB | time / ours | '
                  'time / toolbox\'s own |', '|---|---|---|---|---|---|']
        for r in rows:
            peak = f"{r['peak_mib']:.0f}" if 'peak_mib' in r else '-'
            lines.append(f"| {r['name']} | {1000 * r['step']:.0f} | {r['ips']:.1f} | {peak} | "
                         f"{r['step'] / ours:.2f} | {r['step'] / toolbox:.2f} |")
    return '\n'.join(lines)


def profile_step(family, match, steps=3, threads=2, top=15, settings=None):
    """Where one variant's training step spends its time: forward / backward / optimizer
    wall time, and the operators of the most self CPU time (torch.profiler), as text.
    ``match``: a substring of the variant's name."""
    torch.set_num_threads(threads)
    n, size = dict(SETTINGS, **(settings or {}))[family]
    name, path, options, channels_last = next(v for v in variants(family) if match in v[0])
    model, scope = build(path, options)
    inputs, samples = batch(model, scope, family, size, n, channels_last=channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4)
    from ..fixes import default_scope
    phases = {'forward + loss': [], 'backward': [], 'optimizer': []}
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with default_scope(scope):
            loss, _ = model.parse_losses(model.loss(inputs, samples))
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if i:  # the first step warms up
            for key, t in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                phases[key].append(t)
    lines = [f'{name}: batch {n}, {size}x{size}, {threads} threads, median of {steps} steps']
    total = sum(sorted(v)[len(v) // 2] for v in phases.values())
    for key, v in phases.items():
        t = sorted(v)[len(v) // 2]
        lines.append(f'  {key:15s} {1000 * t:8.1f} ms  {100 * t / total:5.1f}%')
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with default_scope(scope):
            loss, _ = model.parse_losses(model.loss(inputs, samples))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    lines.append(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=top))
    return '\n'.join(lines)
