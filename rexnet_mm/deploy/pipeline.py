"""``tools/deploy.py`` as one function, :func:`deploy`: load, export (BN folded), check
the file under ONNX Runtime and/or OpenVINO against the unfused eager model, optionally
quantize."""
import os.path as osp

from ..apis.config import ConfigError
from ..errors import ExistingFileError, MissingFileError, UserError
from .compare import compare_file, eager_reference
from .export import export_onnx, run_onnx
from .kinds import BATCHED, EXPORTS, model_kind
from .loading import default_shape, load_model, read_image
from .metadata import DETECTORS, export_metadata
from .quantize import calibration_images, int8_agreement, int8_path, quantize_int8
from .runtimes import (RUNTIME_NAMES, RUNTIMES, check_runtime, compiling_default,
                       default_runtime)


def batch_images(x, n):
    """``n`` different images from ``x`` (``1 x 3 x H x W``) for a batched export's check:
    ``x``, its mirror, then crops of it (60-90% of each side, at each corner in turn)
    stretched back to ``H x W``, so that images mixed up in the graph fail the check."""
    import torch
    import torch.nn.functional as F
    h, w = x.shape[2:]
    images = [x, x.flip(3)]
    for i in range(n - 2):
        frac = 0.9 - 0.1 * (i % 4)
        ch, cw = int(h * frac), int(w * frac)
        top, left = (h - ch) * (i % 2), (w - cw) * (i // 2 % 2)
        crop = x[:, :, top:top + ch, left:left + cw]
        images.append(F.interpolate(crop, size=(h, w), mode='bilinear',
                                    align_corners=False).round().clamp(0, 255))
    return torch.cat(images[:n]).contiguous()


def _reference(model, kind, scope, x, batch):
    """:func:`eager_reference` of ``x``; with ``batch``, of each of its images."""
    if batch is None:
        return eager_reference(model, kind, scope, x)
    return [eager_reference(model, kind, scope, x[i:i + 1]) for i in range(len(x))]


def _check_batch(kind, batch, dynamic, int8_calib):
    """One-line errors for ``--batch`` where it does not apply."""
    if batch is None:
        return
    if dynamic:
        raise ConfigError(f'--batch {batch} with --dynamic: a batched detector has a fixed '
                          f'batch and size; drop --dynamic (classifiers and segmentors: '
                          f'--dynamic alone gives any batch)')
    if kind not in BATCHED:
        raise ConfigError(f'--batch: the {kind} exports any batch with --dynamic; use '
                          f'--dynamic instead of --batch')
    if batch < 1:
        raise ConfigError(f'--batch {batch}: the batch is a number of images, 1 or more')
    if int8_calib:
        raise ConfigError('--int8 with --batch: quantize the one-image export (drop '
                          '--batch), its INT8 graph is the same per image')


class ParityError(UserError):
    """The exported file does not give the eager model's outputs (the file is kept, named
    in the message, for a look)."""


def runtimes_of(runtime, kind, out):
    """``(runtimes, note)``: the runtimes ``tools/deploy.py --runtime`` checks the file
    ``out`` under. ``None``: the kind's default where it compiles ``out``, else ONNX
    Runtime with a one-line ``note`` why (:func:`.runtimes.compiling_default`);
    ``'both'``, every runtime (the kind's default first); else that one."""
    if runtime is None:
        chosen, note = compiling_default(out, kind)
        return [chosen], note
    if runtime == 'both':
        first = default_runtime(kind)
        return [first] + [r for r in RUNTIMES if r != first], None
    return [check_runtime(runtime)], None


def deploy(config, checkpoint, out, shape=None, dynamic=False, force=False, fuse=True,
           image=None, int8_calib=None, calib_images=300, runtime=None, batch=None):
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it under
    ``runtime`` (:func:`runtimes_of`) against the unfused eager model on ``image`` (with
    ``batch``, a detector's fixed batch: on :func:`batch_images` of it, each image
    against eager's prediction of it alone, then on their mirrors); with
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
    _check_batch(kind, batch, dynamic, int8_calib)
    if dynamic and kind in DETECTORS:
        raise ConfigError("--dynamic: a detector's anchors are constants of the export "
                          'shape; export one model per input size (--shape H W), with a '
                          'fixed batch (--batch N)')
    shape = tuple(shape) if shape else default_shape(cfg, kind)
    x = read_image(image, shape)
    if batch is not None:
        x = batch_images(x, batch)
    reference = _reference(model, kind, scope, x, batch)
    how = {}
    if kind in DETECTORS:
        how = dict(batch=batch, mask_thr=float(model.roi_head.test_cfg.mask_thr_binary)
                   if kind == 'maskrcnn' else 0.5)
    deployed, folded = model, 0
    if fuse:
        import copy
        deployed, left = fuse_bn(copy.deepcopy(model))
        folded = len(batchnorms(model)) - len(left)
    metadata = export_metadata(model, cfg, kind, shape, dynamic, batch)
    wrapper = EXPORTS[kind](deployed, batch) if batch else EXPORTS[kind](deployed)
    export_onnx(wrapper.eval(), x, out, dynamic=dynamic, metadata=metadata)
    checks = {}
    names, note = runtimes_of(runtime, kind, out)
    for name in names:
        ok, text = compare_file(kind, reference, out, x, name, **how)
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
            ok, text = compare_file(kind, _reference(model, kind, scope, other, batch), out,
                                    other, name, **how)
            check.update(ok=ok, second=f'mirrored image{"s" if batch else ""}: {text}')
        checks[name] = check
    first = next(iter(checks.values()))
    result = dict(kind=kind, shape=shape, folded=folded, out=out, parity=first['parity'],
                  ok=all(c['ok'] for c in checks.values()), metadata=metadata,
                  runtime=next(iter(checks)), checks=checks, batch=batch)
    if note:
        result['note'] = note
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
