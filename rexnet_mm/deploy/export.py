"""Writing the ONNX file and running it: :func:`export_onnx` (a wrapper of
:mod:`.graphs` / :mod:`.detectors` traced into a file, with the file's metadata,
:mod:`.metadata`), :func:`ort_session` (an ONNX Runtime session) and :func:`run_onnx`
(outputs under ONNX Runtime or OpenVINO, :mod:`.runtimes`).

Exporter: ``torch.onnx.export(dynamo=False)`` (TorchScript tracing, opset 17): it maps
our NMS to ``NonMaxSuppression`` directly and exports in about a second where torch's
dynamo exporter took 30 s per model here (both give the same parity on the classifier).
"""
import contextlib
import warnings

import torch

from .graphs import SegmentorExport
from .runtimes import OrtSession, run

OPSET = 17


@contextlib.contextmanager
def _traceable_upsample():
    """mmseg's ``Upsample`` (FPN heads) computes its output size with ``int()``, which
    tracing bakes into the graph as the export shape's constant: at any other input size
    the exported model is wrong (measured: 7% of the logits' scale at 128 px after a
    96 px export). While exporting, it resizes by its scale factor instead (the same
    sizes, ``floor(size * scale)``), which ONNX ``Resize`` keeps relative."""
    try:
        from mmseg.models.utils.wrappers import Upsample, resize
    except ImportError:
        yield
        return
    original = Upsample.forward

    def forward(self, x):
        if self.size or not self.scale_factor:
            return original(self, x)
        return resize(x, None, self.scale_factor, self.mode, self.align_corners)

    Upsample.forward = forward
    try:
        yield
    finally:
        Upsample.forward = original


def export_onnx(wrapper, image, out, dynamic=False, metadata=None):
    """Trace ``wrapper`` on ``image`` into ``out`` (written whole or not at all), with
    ``metadata`` (str -> str) in the file's ``metadata_props``."""
    from ..fixes import atomic_path
    axes = None
    if dynamic:
        axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in wrapper.outputs})
        if 'labels' in wrapper.outputs and isinstance(wrapper, SegmentorExport):
            axes['labels'] = {0: 'batch', 1: 'height', 2: 'width'}
    with atomic_path(out) as tmp, torch.no_grad(), warnings.catch_warnings(), \
            _traceable_upsample():
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, (image, ), tmp, input_names=['image'],
                          output_names=list(wrapper.outputs), dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
        if metadata:
            import onnx
            proto = onnx.load(tmp)
            onnx.helper.set_model_props(proto, metadata)
            onnx.save(proto, tmp)


def ort_session(path, threads=None, profile_prefix=None):
    """An ONNX Runtime ``InferenceSession`` of ``path`` (CPU execution provider; a new
    one, not cached): :class:`.runtimes.OrtSession`'s settings."""
    return OrtSession(path, threads, profile_prefix).session


def run_onnx(path, image, runtime='ort', threads=None):
    """Outputs of ``path`` on ``image`` (torch tensors) under ``runtime`` ('ort' or
    'openvino'; :func:`.runtimes.run`)."""
    return run(path, image, runtime, threads)
