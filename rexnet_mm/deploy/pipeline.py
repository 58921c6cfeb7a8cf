"""``tools/deploy.py`` as one function, :func:`deploy`: load, export (BN folded), check
the file under ONNX Runtime against the unfused eager model, optionally quantize."""
import os.path as osp

from ..apis.config import ConfigError
from ..errors import ExistingFileError, MissingFileError, UserError
from .compare import compare, compare_file, eager_reference
from .export import export_onnx, run_onnx
from .kinds import EXPORTS, model_kind
from .loading import default_shape, load_model, read_image
from .metadata import DETECTORS, export_metadata
from .quantize import calibration_images, int8_agreement, int8_path, quantize_int8


class ParityError(UserError):
    """The exported file does not give the eager model's outputs (the file is kept, named
    in the message, for a look)."""


def deploy(config, checkpoint, out, shape=None, dynamic=False, force=False, fuse=True,
           image=None, int8_calib=None, calib_images=300):
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it under ONNX
    Runtime against the unfused eager model on ``image``; with ``int8_calib`` (a folder
    of images) also write the INT8 model :func:`int8_path` calibrated on up to
    ``calib_images`` of them. Returns a dict of what was done and measured; raises
    ConfigError (one line) on bad input or failed parity."""
    from ..models.fusion import batchnorms, fuse_bn
    for path in [out] + ([int8_path(out)] if int8_calib else []):
        if osp.exists(path) and not force:
            raise ExistingFileError(f'{path!r} exists: pass --force to overwrite it, or another '
                              f'--out')
    if int8_calib and not osp.isdir(int8_calib):
        raise MissingFileError(f'--int8 {int8_calib!r} is not a folder of calibration images')
    model, cfg, scope = load_model(config, checkpoint)
    kind = model_kind(model)
    if dynamic and kind in DETECTORS:
        raise ConfigError("--dynamic: a detector's anchors are constants of the export "
                          'shape; export one model per input size (--shape H W)')
    shape = tuple(shape) if shape else default_shape(cfg, kind)
    x = read_image(image, shape)
    reference = eager_reference(model, kind, scope, x)
    deployed, folded = model, 0
    if fuse:
        import copy
        deployed, left = fuse_bn(copy.deepcopy(model))
        folded = len(batchnorms(model)) - len(left)
    metadata = export_metadata(model, cfg, kind, shape, dynamic)
    export_onnx(EXPORTS[kind](deployed).eval(), x, out, dynamic=dynamic, metadata=metadata)
    outputs = run_onnx(out, x)
    ok, text = compare(kind, reference, outputs)
    result = dict(kind=kind, shape=shape, folded=folded, out=out, parity=text, ok=ok,
                  metadata=metadata)
    if dynamic and ok:
        other = read_image(image, (shape[0] + 32, shape[1] + 32)).repeat(2, 1, 1, 1)
        ok, text = compare_file(kind, eager_reference(model, kind, scope, other), out, other)
        result.update(ok=ok, second=f'batch 2 at {shape[0] + 32}x{shape[1] + 32}: {text}')
    elif kind in DETECTORS and ok:
        # a detector's graph has sizes that vary with the image (boxes above the score
        # threshold, proposals per FPN level): a size kept as a traced constant breaks it
        # on any other image, so a second one is checked (the first, mirrored)
        other = x.flip(3).contiguous()
        ok, text = compare_file(kind, eager_reference(model, kind, scope, other), out, other)
        result.update(ok=ok, second=f'mirrored image: {text}')
    if not result['ok']:
        raise ParityError(f'{out} was written but does not match the eager model: '
                          f'{result.get("second", text)}')
    if int8_calib:
        images = calibration_images(int8_calib, shape, calib_images)
        quantized = int8_path(out)
        nodes = quantize_int8(out, quantized, images)
        result['int8'] = dict(out=quantized, images=len(images), quantized=nodes,
                              agreement=int8_agreement(kind, outputs,
                                                       run_onnx(quantized, x)))
    return result
