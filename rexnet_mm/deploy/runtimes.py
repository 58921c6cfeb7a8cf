"""The CPU runtimes an exported file runs under: ONNX Runtime (``'ort'``) and OpenVINO
(``'openvino'``), behind one interface.

    from rexnet_mm.deploy.runtimes import run, session
    outputs = run('model.onnx', image, runtime='openvino', threads=2)   # torch tensors
    s = session('model.onnx', 'ort')        # cached: the same object for the same file
    s.run({'image': array})                 # numpy outputs, in the file's output order
    s.metadata()                            # the file's metadata_props (str -> str)

:func:`session` compiles a file once per (file, mtime, runtime, threads, options) and
keeps the last few (:data:`CACHE_SIZE`); :func:`run` runs it on a tensor, an array or a
dict of them and gives torch tensors. Nothing here depends on the model's kind, so any
graph ``tools/deploy.py`` exports (with any inputs and outputs) runs under both.
:data:`DEFAULT_RUNTIME` is the runtime docs/deploy.md measured fastest per model kind.

Both are held to float32 arithmetic: OpenVINO's CPU plugin may otherwise compute in bf16
or f16 on CPUs that have it (``INFERENCE_PRECISION_HINT``), which parity would not survive.
"""
import collections
import os
import os.path as osp

import numpy as np

RUNTIMES = ('ort', 'openvino')
#: How messages name them.
RUNTIME_NAMES = {'ort': 'ONNX Runtime', 'openvino': 'OpenVINO'}
#: The runtime ``tools/deploy.py`` and ``OnnxPredictor`` use by default for each model
#: kind: the faster in docs/deploy.md's measurements (2 threads, an AVX2 CPU).
DEFAULT_RUNTIME = {'classifier': 'openvino', 'segmentor': 'openvino', 'ssd': 'openvino',
                   'rcnn': 'openvino'}
#: How many compiled files :func:`session` keeps.
CACHE_SIZE = 8


def default_runtime(kind):
    """:data:`DEFAULT_RUNTIME` of ``kind``; ONNX Runtime for a kind it does not list (a
    graph added later)."""
    return DEFAULT_RUNTIME.get(kind, 'ort')


def compiling_default(path, kind, threads=None):
    """``(runtime, note)``: the kind's default runtime if it compiles ``path`` here, else
    ONNX Runtime with a one-line ``note`` saying why (OpenVINO 2026.4 refuses some
    detector graphs when oneDNN is capped below AVX2, e.g. ``ONEDNN_MAX_CPU_ISA=SSE41``:
    a default must not fail where the other runtime works). ``note`` is None when the
    default compiled."""
    best = default_runtime(kind)
    if best == 'ort':
        return best, None
    try:
        session(path, best, threads)
    except Exception as exc:  # noqa: BLE001 the runtime's own message, in the note
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else \
            type(exc).__name__
        return 'ort', (f'{RUNTIME_NAMES[best]} (the default for a {kind}) could not compile '
                       f'{osp.basename(path)} here ({first}); using ONNX Runtime (pass '
                       f'--runtime {best} to require it)')
    return best, None


def check_runtime(runtime):
    """``runtime`` if it is one of :data:`RUNTIMES`, else a one-line error."""
    if runtime not in RUNTIMES:
        from ..errors import InvalidValueError
        raise InvalidValueError(f'runtime {runtime!r}: use one of {", ".join(RUNTIMES)}')
    return runtime


class OrtSession:
    """ONNX Runtime, CPU execution provider. ``threads``: that many intra-op threads which
    sleep between runs; ``profile_prefix``: its profiler on (the trace file starts with
    it); ``level``: graph optimisation level (``'all'``, the default, ``'extended'``,
    ``'basic'``, ``'none'``)."""
    runtime = 'ort'

    def __init__(self, path, threads=None, profile_prefix=None, level='all'):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = {
            'all': ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            'extended': ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            'basic': ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            'none': ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[level]
        if profile_prefix:
            options.enable_profiling = True
            options.profile_file_prefix = profile_prefix
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # ONNX Runtime's threads spin-wait after a run by default, taking the cores
            # from whatever runs next (a benchmark's next variant: eager PyTorch at batch 1
            # looked 1.2-1.8x slower; measured again here: 45.7 ms against 22.0 alone).
            # Spinning within a run only ('session.force_spinning_stop') kept eager at
            # 22.0 ms but did not make ONNX Runtime faster (16.9 against 15.0 ms,
            # ReXNet-1.0 at batch 1, 2 threads), so the threads simply sleep.
            options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(path, options,
                                            providers=['CPUExecutionProvider'])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feed):
        return self.session.run(None, feed)

    def metadata(self):
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def end_profiling(self):
        return self.session.end_profiling()


class OpenVinoSession:
    """OpenVINO, CPU plugin, reading the ONNX file itself (or an OpenVINO IR ``.xml``).
    ``threads``: ``INFERENCE_NUM_THREADS``; ``hint``: ``PERFORMANCE_HINT`` (``LATENCY``,
    the default: one stream, all threads on one request; ``THROUGHPUT``);
    ``streams``: ``NUM_STREAMS``."""
    runtime = 'openvino'

    def __init__(self, path, threads=None, hint='LATENCY', streams=None):
        import openvino as ov
        core = ov.Core()
        self.model = core.read_model(path)
        config = {'PERFORMANCE_HINT': hint, 'INFERENCE_PRECISION_HINT': 'f32'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = int(threads)
        if streams:
            config['NUM_STREAMS'] = int(streams)
        self.compiled = core.compile_model(self.model, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self.input_names = [i.get_any_name() for i in self.compiled.inputs]
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]

    def run(self, feed):
        self.request.infer(feed)
        # copies: the request's output buffers are reused by its next run
        return [np.array(self.request.get_output_tensor(i).data)
                for i in range(len(self.output_names))]

    def metadata(self):
        # the ONNX frontend keeps the file's metadata_props under rt_info['framework']
        if not self.model.has_rt_info(['framework']):
            return {}
        framework = self.model.get_rt_info()['framework']
        return {key: framework[key].astype(str) for key in framework}


_SESSIONS = {'ort': OrtSession, 'openvino': OpenVinoSession}
_CACHE = collections.OrderedDict()


def session(path, runtime='ort', threads=None, cache=True, **options):
    """A compiled ``path`` under ``runtime`` (:class:`OrtSession` / :class:`OpenVinoSession`,
    ``options`` to it), from the cache where the same file (path, size, mtime) was compiled
    with the same settings before (``cache=False``: a new one, not kept)."""
    check_runtime(runtime)
    if not cache:
        return _SESSIONS[runtime](path, threads, **options)
    stat = os.stat(path)
    key = (osp.abspath(path), stat.st_size, stat.st_mtime_ns, runtime, threads,
           tuple(sorted(options.items())))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    compiled = _SESSIONS[runtime](path, threads, **options)
    _CACHE[key] = compiled
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def feed_of(compiled, inputs):
    """``inputs`` (a tensor or array for a one-input graph, or a dict name -> tensor or
    array) as the dict of arrays ``compiled.run`` takes."""
    if not isinstance(inputs, dict):
        inputs = {compiled.input_names[0]: inputs}
    return {name: value if isinstance(value, np.ndarray) else value.detach().cpu().numpy()
            for name, value in inputs.items()}


def run(path, inputs, runtime='ort', threads=None):
    """Outputs (torch tensors, the file's order) of ``path`` on ``inputs``
    (:func:`feed_of`) under ``runtime``."""
    import torch
    compiled = session(path, runtime, threads)
    return [torch.from_numpy(np.ascontiguousarray(o))
            for o in compiled.run(feed_of(compiled, inputs))]
