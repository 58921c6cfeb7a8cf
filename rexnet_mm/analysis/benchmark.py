"""CPU inference speed as ratios against peers measured in the same run
(``tools/analysis/benchmark_speed.py``).

Every row times its variants round-robin (one forward of each in turn, ``repeats``
rounds, medians), so a change of machine load hits them alike: ours eager, timm's same
architecture eager, ours BN-folded (:func:`rexnet_mm.models.fusion.fuse_bn`), ours under
ONNX Runtime, under OpenVINO and ONNX Runtime's INT8 (:mod:`rexnet_mm.deploy`). Weights are random
(:func:`~rexnet_mm.analysis.parity.randomize_`: the default inits can hit denormals).
Achieved GFLOP/s count a multiply-add as 2 FLOPs, like the fp32 matmul peak measured
first (``torch.mm`` of 2048 x 2048 matrices).
"""
import contextlib
import copy
import os.path as osp
import tempfile
import time

import torch

from ..utils import progress_bar
from .parity import REGNET_RANDOM, REGNET_ZOO, REXNET_PAPER, randomize_, timm_rexnet

REXNET_WIDTHS = (0.9, 1.0, 1.3, 1.5, 2.0, 2.2, 3.0)
REGNETS = ('regnetx_400mf', 'regnetx_3.2gf', 'regnety_400mf', 'regnety_1.6gf')


def median_times(fns, repeats, bar=None, no_grad=True):
    """Median seconds of each callable in ``fns``, called round-robin after one warm-up
    call each (under ``torch.no_grad()`` unless ``no_grad`` is False: training steps)."""
    times = [[] for _ in fns]
    with torch.no_grad() if no_grad else contextlib.nullcontext():
        for fn in fns:
            fn()
        for _ in range(repeats):
            for i, fn in enumerate(fns):
                t0 = time.perf_counter()
                fn()
                times[i].append(time.perf_counter() - t0)
            if bar is not None:
                bar.update()
    return [sorted(t)[len(t) // 2] for t in times]


def matmul_peak(threads, n=2048, repeats=10):
    """Measured fp32 GFLOP/s of ``torch.mm`` (2 n^3 FLOPs)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = median_times([lambda: torch.mm(a, b)], repeats)[0]
    return 2 * n ** 3 / t / 1e9


def _onnx_sessions(wrapper, x, calib, tmp, name, threads):
    """ONNX Runtime sessions of ``wrapper`` in float and INT8 (where quantization fails,
    its reason instead of the INT8 session) and OpenVINO's float one
    (:mod:`rexnet_mm.deploy.runtimes`, not cached)."""
    from ..deploy.export import export_onnx
    from ..deploy.quantize import quantize_int8
    from ..deploy.runtimes import session
    fp32 = osp.join(tmp, f'{name}.onnx')
    export_onnx(wrapper, x[:1], fp32, dynamic=True)
    try:
        quantize_int8(fp32, osp.join(tmp, f'{name}.int8.onnx'), calib)
        int8 = session(osp.join(tmp, f'{name}.int8.onnx'), 'ort', threads, cache=False)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        int8 = str(exc)
    return (session(fp32, 'ort', threads, cache=False), int8,
            session(fp32, 'openvino', threads, cache=False))


def _calibration(size, n=8):
    """``n`` generated shapes images as the graph's input."""
    import numpy as np

    from ..deploy.loading import as_input
    from ..synthetic.shapes_coco import render_image
    return [as_input(render_image(np.random.default_rng(i), size=size)[0], (size, size))
            for i in range(n)]


def classifier_rows(batches, size, repeats, threads, quick=False):
    """One row per (network, batch): ms of ours eager / timm / fused / ORT / INT8."""
    import timm
    from mmpretrain.models import ClsDataPreprocessor

    from ..deploy.graphs import ClassifierExport
    from ..models.classifiers import build_regnet_classifier, build_rexnet_classifier
    from ..models.fusion import fuse_bn
    from ..models.normalization import cls_preprocessor
    nets, scale = [], (size / 224) ** 2  # published multiply-adds are at 224x224
    for w in (REXNET_WIDTHS[1:2] if quick else REXNET_WIDTHS):
        nets.append((f'ReXNet-{w}', 'rexnet', lambda w=w: build_rexnet_classifier(w),
                     lambda w=w: timm_rexnet(w), 2 * REXNET_PAPER[('v1', w)][1] * scale, {}))
    for arch in (REGNETS[2:3] if quick else REGNETS):
        # 'regnetx_400mf' -> 'RegNetX-400MF'
        nets.append(('RegNet' + arch[len('regnet'):].replace('_', '-').upper(), 'regnet',
                     lambda a=arch: build_regnet_classifier(a),
                     lambda a=arch: timm.create_model(REGNET_ZOO[a][0], pretrained=False),
                     2 * REGNET_ZOO[arch][3] * 1e9 * scale, REGNET_RANDOM))
    calib = _calibration(size)
    rows = []
    bar = progress_bar(len(nets) * (len(batches) * repeats))
    with tempfile.TemporaryDirectory() as tmp:
        for name, family, ours_fn, timm_fn, flops, rand in nets:
            ours = randomize_(ours_fn(), seed=0, **rand).eval()
            ref = randomize_(timm_fn(), seed=0, **rand).eval()
            # the family's input normalisation, which the exported graph starts with
            ours.data_preprocessor = ClsDataPreprocessor(
                **{k: v for k, v in cls_preprocessor(family).items() if k != 'type'})
            fused = fuse_bn(copy.deepcopy(ours))[0]
            x1 = torch.rand(1, 3, size, size) * 255
            ort_fp32, ort_int8, ov_fp32 = _onnx_sessions(
                ClassifierExport(fused).eval(), x1, calib, tmp, name, threads)
            for batch in batches:
                x = torch.randn(batch, 3, size, size)
                image = (torch.rand(batch, 3, size, size) * 255).numpy()
                fns = [lambda: ours(x, mode='tensor'), lambda: ref(x),
                       lambda: fused(x, mode='tensor'),
                       lambda: ort_fp32.run({'image': image}),
                       lambda: ov_fp32.run({'image': image})]
                if not isinstance(ort_int8, str):
                    fns.append(lambda: ort_int8.run({'image': image}))
                t = median_times(fns, repeats, bar)
                rows.append(dict(name=name, batch=batch, ours=t[0], timm=t[1], fused=t[2],
                                 ort=t[3], openvino=t[4], int8=t[5] if len(t) > 5 else None,
                                 flops=flops * batch))
    return rows


def detector_rows(size, repeats, threads, quick=False):
    """SSDLite-ReXNet-1.0 and mmdet's SSDLite-MobileNetV2 end to end (predict: NMS
    included) and a Faster R-CNN (ReXNet-1.0 FPN): eager / fused / ORT / OpenVINO."""
    from ..apis.build import build_random_model
    from ..deploy.export import export_onnx
    from ..deploy.runtimes import session as runtime_session
    from ..deploy.kinds import EXPORTS, model_kind
    from ..deploy.loading import det_sample
    from ..fixes import default_scope
    from ..models.fusion import fuse_bn
    from .complexity import config_complexity
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    mobilenet = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
    # (name, config, input in channels-last layout): our backbones run channels-last on
    # the CPU by themselves; mmdet's MobileNetV2 does when its input comes that way
    configs = [('SSDLite-ReXNet-1.0', osp.join(root, 'configs', 'ssdlite_rexnet.py'), False),
               ('SSDLite-MobileNetV2 (mmdet)', mobilenet, False),
               ('SSDLite-MobileNetV2 (mmdet), channels-last input', mobilenet, True)]
    if not quick:
        configs.append(('Faster R-CNN ReXNet-1.0 FPN', osp.join(
            root, 'configs', 'detection', 'faster-rcnn', 'faster-rcnn_rexnet-1.0_fpn_1x_coco.py'),
            False))
    rows = []
    bar = progress_bar(len(configs) * repeats)
    sample = det_sample((size, size))
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg, channels_last in configs:
            model, _, scope = build_random_model(cfg)
            randomize_(model, seed=0, bn_scale=0.5, shift=0.1)
            model.eval()
            fused = fuse_bn(copy.deepcopy(model))[0]
            flops = 2 * config_complexity(cfg, shape=(size, size))['flops']
            x = torch.randn(1, 3, size, size)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            image = (torch.rand(1, 3, size, size) * 255)
            fns = [lambda m=model: m.predict(x, [sample], rescale=False),
                   lambda m=fused: m.predict(x, [sample], rescale=False)]
            path = osp.join(tmp, 'det.onnx')
            with default_scope('mmdet'):
                export_onnx(EXPORTS[model_kind(fused)](fused).eval(), image, path)
            for runtime in ('ort', 'openvino'):
                s = runtime_session(path, runtime, threads, cache=False)
                fns.append(lambda s=s: s.run({'image': image.numpy()}))
            with default_scope(scope):
                t = median_times(fns, repeats, bar)
            rows.append(dict(name=name, batch=1, ours=t[0], fused=t[1], ort=t[2],
                             openvino=t[3], flops=flops))
    return rows


def run(batches=(1, 8), size=224, det_size=320, repeats=10, threads=2, quick=False):
    """Everything the command prints, as rows (see :func:`format_tables`)."""
    torch.set_num_threads(threads)
    peak = matmul_peak(threads)
    return dict(peak=peak, threads=threads, size=size, det_size=det_size,
                repeats=repeats, cls=classifier_rows(batches, size, repeats, threads, quick),
                det=detector_rows(det_size, repeats, threads, quick))


def format_tables(res):
    """Markdown tables: ms and ratios (lower is faster)."""
    def ms(t):
        return '-' if t is None else f'{1000 * t:.1f}'

    def ratio(a, b):
        return '-' if a is None or b is None else f'{a / b:.2f}'

    lines = [f"{res['threads']} threads, median of {res['repeats']} round-robin repeats; "
             f"fp32 matmul peak {res['peak']:.0f} GFLOP/s (torch.mm 2048^2)", '',
             f"Backbones as ImageNet classifiers, {res['size']}x{res['size']}:", '',
             '| network | batch | ours ms | timm / ours | ours / timm | fused / ours | '
             'ORT / ours | OpenVINO / ours | ORT INT8 / ours | ours GFLOP/s (% of peak) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in res['cls']:
        gflops = r['flops'] / r['ours'] / 1e9
        lines.append(f"| {r['name']} | {r['batch']} | {ms(r['ours'])} | "
                     f"{ratio(r['timm'], r['ours'])} | {ratio(r['ours'], r['timm'])} | "
                     f"{ratio(r['fused'], r['ours'])} | {ratio(r['ort'], r['ours'])} | "
                     f"{ratio(r.get('openvino'), r['ours'])} | "
                     f"{ratio(r['int8'], r['ours'])} | {gflops:.1f} "
                     f"({100 * gflops / res['peak']:.0f}%) |")
    lines += ['', f"Detectors end to end (NMS included), batch 1, "
              f"{res['det_size']}x{res['det_size']}:", '',
              '| detector | GFLOPs | eager ms | fused ms | ORT ms | OpenVINO ms | eager / '
              'SSDLite-MobileNetV2 | ORT / its ORT | OpenVINO / its OpenVINO | GFLOP/s eager |',
              '|---|---|---|---|---|---|---|---|---|---|']
    # the peer: mmdet's SSDLite-MobileNetV2 as it ships (NCHW input), each column its own
    base = next((r for r in res['det'] if 'MobileNetV2' in r['name']), {})
    for r in res['det']:
        lines.append(f"| {r['name']} | {r['flops'] / 2e9:.2f} (MACs) | {ms(r['ours'])} | "
                     f"{ms(r['fused'])} | {ms(r['ort'])} | {ms(r.get('openvino'))} | "
                     f"{ratio(r['ours'], base.get('ours'))} | "
                     f"{ratio(r['ort'], base.get('ort'))} | "
                     f"{ratio(r.get('openvino'), base.get('openvino'))} | "
                     f"{r['flops'] / r['ours'] / 1e9:.1f} |")
    return '\n'.join(lines)
