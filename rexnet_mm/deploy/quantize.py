"""INT8: post-training static quantization of an exported file with ONNX Runtime
(:func:`quantize_int8`), calibrated on a folder of images (:func:`calibration_images`),
and how close the INT8 model stays to float (:func:`int8_agreement`)."""
import contextlib
import os
import os.path as osp
import warnings

import torch

from ..apis.config import ConfigError
from ..images import list_images
from .loading import read_image

#: ONNX operators quantized: the convolutions and matrix products (the FLOPs). The rest
#: (softmax, box decoding, TopK, NonMaxSuppression) stays float.
INT8_OPS = ('Conv', 'MatMul', 'Gemm')


def int8_path(out):
    """``model.onnx`` -> ``model.int8.onnx``."""
    stem, ext = osp.splitext(out)
    return f'{stem}.int8{ext or ".onnx"}'


def calibration_images(folder, shape, limit=300):
    """Up to ``limit`` images of ``folder`` (:func:`rexnet_mm.images.list_images`: sorted
    names), as the graph's input."""
    return [read_image(path, shape) for path in list_images(folder, limit, what='--int8')]


#: ONNX Runtime's quantizer logs these on the root logger (``logging.warning``): advice a
#: user of tools/deploy.py cannot act on. Its model pre-processing (shape inference and
#: graph optimisation) is not needed for our graphs, whose shapes are known; a bias that
#: is not an initializer (a computed one) simply stays float.
QUANTIZER_NOISE = ('Please consider to run pre-processing before quantization',
                   'Please consider pre-processing before quantization',
                   "Expected bias '")


class _QuantizerNoise:
    """A logging filter that drops :data:`QUANTIZER_NOISE` from onnxruntime.quantization."""

    @staticmethod
    def filter(record):
        return not (f'{os.sep}onnxruntime{os.sep}quantization{os.sep}' in record.pathname
                    and str(record.msg).startswith(QUANTIZER_NOISE))


@contextlib.contextmanager
def _quiet_quantizer():
    import logging
    root, noise = logging.getLogger(), _QuantizerNoise()
    root.addFilter(noise)
    try:
        yield
    finally:
        root.removeFilter(noise)


def quantize_int8(fp32, out, images):
    """Post-training static quantization of ``fp32`` (ONNX) into ``out`` with ONNX
    Runtime: QDQ format, int8 per-channel weights, uint8 activations calibrated (min/max)
    on ``images``, :data:`INT8_OPS` only. Returns the number of quantized nodes; a
    one-line error where ONNX Runtime cannot quantize the model."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.images = iter(images)

        def get_next(self):
            x = next(self.images, None)
            return None if x is None else {'image': x.numpy()}

    from ..fixes import atomic_path
    try:
        with atomic_path(out) as tmp, warnings.catch_warnings(), _quiet_quantizer():
            warnings.simplefilter('ignore')
            quantize_static(fp32, tmp, Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, weight_type=QuantType.QInt8,
                            activation_type=QuantType.QUInt8,
                            op_types_to_quantize=list(INT8_OPS))
    except Exception as exc:  # ORT's own messages; the fp32 model is kept
        raise ConfigError(f'INT8 quantization of {fp32} failed ({type(exc).__name__}: '
                          f'{str(exc).splitlines()[0][:160] if str(exc) else ""}); the '
                          f'float model is unchanged') from None
    import onnx
    return sum(n.op_type == 'QuantizeLinear' for n in onnx.load(out).graph.node)


#: A detection counts as confident from this score on (:func:`int8_agreement`).
CONFIDENT = 0.3


def int8_agreement(kind, fp32_outputs, int8_outputs):
    """How close INT8 stays to float on one input, in [0, 1] (1: the same): the Pearson
    correlation of a classifier's scores; the share of a segmentor's pixels with the
    same label; for a detector, the share of float's confident detections (score >=
    :data:`CONFIDENT`) that INT8 also finds (same label, IoU >= 0.5)."""
    if kind == 'segmentor':
        return (int8_outputs[0] == fp32_outputs[0]).float().mean().item()
    if kind == 'classifier':
        a, b = fp32_outputs[0].flatten(), int8_outputs[0].flatten()
        return torch.corrcoef(torch.stack([a, b]))[0, 1].item()
    from torchvision.ops import box_iou
    keep = fp32_outputs[1] >= CONFIDENT
    boxes, labels = fp32_outputs[0][keep], fp32_outputs[2][keep]
    if not len(boxes):
        return 1.0
    if not len(int8_outputs[0]):
        return 0.0
    iou = box_iou(boxes, int8_outputs[0]) * (labels[:, None] == int8_outputs[2][None])
    return (iou.max(1).values >= 0.5).float().mean().item()
