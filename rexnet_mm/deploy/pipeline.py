"""``tools/deploy.py`` as one function, :func:`deploy`: load, export (BN folded), check
the file under ONNX Runtime and/or OpenVINO against the unfused eager model, optionally
quantize."""
import os.path as osp

from ..apis.config import ConfigError
from ..errors import ExistingFileError, MissingFileError, UserError
from .compare import compare_file, eager_reference
from .export import export_onnx, run_onnx
from .kinds import EXPORTS, model_kind
from .loading import default_shape, load_model, read_image
from .metadata import DETECTORS, export_metadata
from .quantize import calibration_images, int8_agreement, int8_path, quantize_int8
from .runtimes import RUNTIME_NAMES, RUNTIMES, check_runtime, default_runtime


class ParityError(UserError):
    """The exported file does not give the eager model's outputs (the file is kept, named
    in the message, for a look)."""


def runtimes_of(runtime, kind):
    """The runtimes ``tools/deploy.py --runtime`` checks parity under: ``None``, the
    kind's default (:func:`.runtimes.default_runtime`); ``'both'``, every runtime (the
    kind's default first); else that one."""
    if runtime is None:
        return [default_runtime(kind)]
    if runtime == 'both':
        first = default_runtime(kind)
        return [first] + [r for r in RUNTIMES if r != first]
    return [check_runtime(runtime)]


def deploy(config, checkpoint, out, shape=None, dynamic=False, force=False, fuse=True,
           image=None, int8_calib=None, calib_images=300, runtime=None):
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it under
    ``runtime`` (:func:`runtimes_of`) against the unfused eager model on ``image``; with
    ``int8_calib`` (a folder of images) also write the INT8 model :func:`int8_path`
    calibrated on up to ``calib_images`` of them. Returns a dict of what was done and
    measured (``checks``: runtime -> its parity lines; ``parity``, ``second``: the first
    runtime's); raises ConfigError (one line) on bad input or failed parity."""
    from ..models.fusion import batchnorms, fuse_bn
    if runtime is not None and runtime != 'both':
        check_runtime(runtime)
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
    checks = {}
    for name in runtimes_of(runtime, kind):
        ok, text = compare_file(kind, reference, out, x, name)
        check = dict(ok=ok, parity=text)
        if dynamic and ok:
            other = read_image(image, (shape[0] + 32, shape[1] + 32)).repeat(2, 1, 1, 1)
            ok, text = compare_file(kind, eager_reference(model, kind, scope, other), out,
                                    other, name)
            check.update(ok=ok, second=f'batch 2 at {shape[0] + 32}x{shape[1] + 32}: {text}')
        elif kind in DETECTORS and ok:
            # a detector's graph has sizes that vary with the image (boxes above the score
            # threshold, proposals per FPN level): a size kept as a traced constant breaks
            # it on any other image, so a second one is checked (the first, mirrored)
            other = x.flip(3).contiguous()
            ok, text = compare_file(kind, eager_reference(model, kind, scope, other), out,
                                    other, name)
            check.update(ok=ok, second=f'mirrored image: {text}')
        checks[name] = check
    first = next(iter(checks.values()))
    result = dict(kind=kind, shape=shape, folded=folded, out=out, parity=first['parity'],
                  ok=all(c['ok'] for c in checks.values()), metadata=metadata,
                  runtime=next(iter(checks)), checks=checks)
    if 'second' in first:
        result['second'] = first['second']
    for name, check in checks.items():
        if not check['ok']:
            raise ParityError(f'{out} was written but does not match the eager model under '
                              f'{RUNTIME_NAMES[name]}: {check.get("second", check["parity"])}')
    if int8_calib:
        images = calibration_images(int8_calib, shape, calib_images)
        quantized = int8_path(out)
        nodes = quantize_int8(out, quantized, images)
        result['int8'] = dict(out=quantized, images=len(images), quantized=nodes,
                              agreement=int8_agreement(kind, run_onnx(out, x),
                                                       run_onnx(quantized, x)))
    return result
