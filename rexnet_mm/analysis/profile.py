"""Where a model's CPU time goes, per operator (``tools/analysis/profile_ops.py``).

Eager PyTorch through ``torch.profiler`` (self time per ATen operator), or the exported
graph under ONNX Runtime through its own profiler (kernel time per ONNX operator type),
or under OpenVINO through its performance counters (time per executed node type and the
kernel it ran, e.g. ``Convolution:jit_avx2_FP32``).
Weights are random (:func:`~rexnet_mm.analysis.parity.randomize_`), the input a
generated shapes image at the size ``tools/deploy.py`` exports at.
"""
import collections
import json
import os
import os.path as osp
import tempfile

import torch


def _model(config, shape, fused):
    from ..apis.build import build_random_model
    from ..deploy.kinds import model_kind
    from ..deploy.loading import default_shape, read_image
    from ..models.fusion import fuse_bn
    from .parity import randomize_
    model, cfg, scope = build_random_model(config)
    randomize_(model, seed=0, bn_scale=0.5, shift=0.1)
    model.eval()
    if fused:
        model = fuse_bn(model)[0]
    kind = model_kind(model)
    shape = tuple(shape) if shape else default_shape(cfg, kind)
    return model, kind, scope, read_image(None, shape)


def eager_ops(model, kind, scope, image, runs):
    """``[(ATen op, ms per run, calls per run)]``, by self CPU time."""
    from ..deploy.kinds import EXPORTS
    from ..deploy.loading import det_inputs
    from ..deploy.metadata import DETECTORS
    from ..fixes import default_scope
    if kind in DETECTORS:
        inputs, samples = det_inputs(model, image)

        def run():
            model.predict(inputs, samples, rescale=False)
    else:
        wrapper = EXPORTS[kind](model).eval()

        def run():
            wrapper(image)
    with torch.no_grad(), default_scope(scope):
        run()  # warm-up
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                run()
    rows = [(e.key, e.self_cpu_time_total / 1000 / runs, e.count / runs)
            for e in prof.key_averages()]
    return sorted(rows, key=lambda r: -r[1])


def onnx_ops(model, kind, image, runs, threads):
    """``[(ONNX op type, ms per run, nodes)]`` of the exported graph under ONNX Runtime."""
    from ..deploy.export import export_onnx, ort_session
    from ..deploy.kinds import EXPORTS
    from ..fixes import default_scope
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        with default_scope('mmdet'):
            export_onnx(EXPORTS[kind](model).eval(), image[:1], path, dynamic=len(image) > 1)
        session = ort_session(path, threads, profile_prefix=osp.join(tmp, 'ort'))
        feed = {'image': image.numpy()}
        session.run(None, feed)  # warm-up (profiled too: dropped below by run count)
        for _ in range(runs):
            session.run(None, feed)
        trace = session.end_profiling()
        with open(trace) as f:
            events = json.load(f)
        os.remove(trace)
    total, nodes = collections.Counter(), collections.defaultdict(set)
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            op = e['args']['op_name']
            total[op] += e['dur']
            nodes[op].add(e['name'])
    # the warm-up run is in the trace as well: runs + 1 runs of every node
    return [(op, us / 1000 / (runs + 1), len(nodes[op])) for op, us in total.most_common()]


def openvino_ops(model, kind, image, runs, threads):
    """``[(node type:kernel, ms per run, nodes)]`` of the exported graph under OpenVINO
    (:class:`rexnet_mm.deploy.runtimes.OpenVinoSession`'s settings, ``PERF_COUNT`` on)."""
    import openvino as ov

    from ..deploy.export import export_onnx
    from ..deploy.kinds import EXPORTS
    from ..fixes import default_scope
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        with default_scope('mmdet'):
            export_onnx(EXPORTS[kind](model).eval(), image[:1], path, dynamic=len(image) > 1)
        core = ov.Core()
        compiled = core.compile_model(core.read_model(path), 'CPU', {
            'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32',
            'INFERENCE_NUM_THREADS': threads, 'PERF_COUNT': True})
    request = compiled.create_infer_request()
    feed = {'image': image.numpy()}
    request.infer(feed)  # warm-up, not counted
    total, nodes = collections.Counter(), collections.defaultdict(set)
    for _ in range(runs):
        request.infer(feed)
        for info in request.get_profiling_info():
            if info.status == info.Status.EXECUTED:
                op = f'{info.node_type}:{info.exec_type}'
                total[op] += info.real_time.total_seconds() * 1000
                nodes[op].add(info.node_name)
    return [(op, ms / runs, len(nodes[op])) for op, ms in total.most_common()]


def profile(config, shape=None, runs=10, threads=2, onnx=False, fused=False, batch=1,
            openvino=False):
    """Rows of :func:`eager_ops` (or :func:`onnx_ops` with ``onnx``, :func:`openvino_ops`
    with ``openvino``) of ``config``'s model on ``batch`` copies of the image (classifiers
    and segmentors; detectors take one), and the input shape."""
    torch.set_num_threads(threads)
    model, kind, scope, image = _model(config, shape, fused or onnx or openvino)
    if batch > 1:
        from ..deploy.metadata import DETECTORS
        if kind in DETECTORS:
            from ..errors import InvalidValueError
            raise InvalidValueError(f'--batch {batch}: a detector is exported and profiled '
                                    f'on one image (--batch 1)')
        image = image.repeat(batch, 1, 1, 1)
    if openvino:
        rows = openvino_ops(model, kind, image, runs, threads)
    elif onnx:
        rows = onnx_ops(model, kind, image, runs, threads)
    else:
        rows = eager_ops(model, kind, scope, image, runs)
    return rows, tuple(image.shape[2:])
