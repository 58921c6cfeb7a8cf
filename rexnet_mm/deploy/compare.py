"""The exported file against the eager model: :func:`eager_reference` (what mmpretrain /
mmseg / mmdet's own code predicts with the unfused model) and :func:`compare` (a
runtime's outputs, ONNX Runtime's or OpenVINO's, against it, within the parity bounds
below)."""
import torch

from ..numerics import rel_diff
from .export import run_onnx
from .kinds import EXPORTS
from .loading import det_inputs
from .metadata import DETECTORS
from .runtimes import RUNTIME_NAMES

#: Parity bounds (the issue's): classifier scores relative to their scale; segmentor
#: labels; detector boxes/scores of the top detections.
SCORE_RTOL = 1e-4
LABEL_AGREEMENT = 0.999
BOX_IOU = 0.99
DET_SCORE_ATOL = 1e-3
MASK_IOU = 0.98


def eager_reference(model, kind, scope, image):
    """What the unfused eager model predicts on ``image`` (BGR 0-255), through mmdet /
    mmseg / mmpretrain's own code, in the exported outputs' form."""
    from ..fixes import default_scope
    with torch.no_grad(), default_scope(scope):
        if kind in DETECTORS:
            pred = model.predict(*det_inputs(model, image), rescale=False)[0]
            inst = pred.pred_instances
            return [inst.bboxes, inst.scores, inst.labels] + (
                [inst.masks] if 'masks' in inst else [])
        return [EXPORTS[kind](model)(image)]


def _det_parity(reference, outputs, mask_thr):
    """One image's detections against eager's: a dict of the numbers, or a text why
    not. Each of eager's top 10 is matched to the runtime's detection of the same label
    with the best box IoU, not to the one of the same rank: detections with equal scores
    (to float precision) come in either order. Masks: the runtime's probabilities pasted
    as mmdet pastes them (:func:`.masks.paste_masks`), IoU with eager's on each match."""
    boxes, scores, labels = reference[:3]
    k = min(len(scores), 10)
    if len(outputs[1]) < k:
        return f'{len(outputs[1])} detections, eager {len(scores)}'
    if k == 0:
        return dict(k=0)
    from torchvision.ops import box_iou
    iou = box_iou(boxes[:k], outputs[0]) * (labels[:k, None] == outputs[2][None])
    best, match = iou.max(1)
    found = dict(k=k, iou=best.min().item(),
                 dscore=(outputs[1][match] - scores[:k]).abs().max().item())
    if len(reference) > 3:
        from .masks import paste_masks
        ours = torch.from_numpy(paste_masks(outputs[3][match].numpy(),
                                            outputs[0][match].numpy(),
                                            reference[3].shape[-2:], mask_thr))
        theirs = reference[3][:k].bool()
        inter = (ours & theirs).flatten(1).sum(1)
        union = (ours | theirs).flatten(1).sum(1)
        found['mask_iou'] = torch.where(union > 0, inter / union.clamp(min=1),
                                        torch.ones_like(inter, dtype=torch.float)).min().item()
    return found


def unbatch(outputs):
    """A batched detector file's outputs (``dets``, ``labels``[, ``masks``], padded) as
    each image's ``[boxes, scores, labels[, masks]]``."""
    dets, labels, *rest = outputs
    images = []
    for i in range(len(dets)):
        valid = labels[i] >= 0
        images.append([dets[i][valid, :4], dets[i][valid, 4], labels[i][valid]] +
                      [r[i][valid] for r in rest])
    return images


def compare(kind, reference, outputs, mask_thr=0.5, batch=None):
    """Parity of a runtime's ``outputs`` with the eager model's ``reference`` (same
    order; with ``batch``, a list of each image's reference against the padded
    outputs); returns ``(ok, text)``."""
    if kind == 'classifier':
        diff = rel_diff(outputs[0], reference[0])
        return diff <= SCORE_RTOL, f'scores: max relative difference {diff:.1e} ' \
                                   f'(bound {SCORE_RTOL:g})'
    if kind == 'segmentor':
        same = (outputs[0] == reference[0]).float().mean().item()
        return same >= LABEL_AGREEMENT, f'labels: {same:.4%} of pixels equal ' \
                                        f'(bound {LABEL_AGREEMENT:.1%})'
    if batch is None:
        found = [_det_parity(reference, outputs, mask_thr)]
    else:
        found = [_det_parity(r, o, mask_thr) for r, o in zip(reference, unbatch(outputs))]
    where = '' if batch is None else f' in each of {len(found)} images'
    for i, f in enumerate(found):
        if isinstance(f, str):
            return False, f if batch is None else f'image {i}: {f}'
    found = [f for f in found if f['k']]
    if not found:
        return True, f'no detection above the score threshold{where} (eager: none either)'
    k = min(f['k'] for f in found)
    iou, dscore = min(f['iou'] for f in found), max(f['dscore'] for f in found)
    ok = iou >= BOX_IOU and dscore <= DET_SCORE_ATOL
    text = (f'top {k} detections matched{where} (same label, best IoU): min IoU '
            f'{iou:.4f} (bound {BOX_IOU}), max |score diff| {dscore:.1e} (bound '
            f'{DET_SCORE_ATOL:g})')
    if 'mask_iou' in found[0]:
        masks = min(f['mask_iou'] for f in found)
        ok = ok and masks >= MASK_IOU
        text += f', min mask IoU {masks:.4f} (bound {MASK_IOU})'
    return ok, text


def compare_file(kind, reference, out, image, runtime='ort', **how):
    """:func:`compare` (``how``: its keywords) of the file ``out`` run on ``image`` under ``runtime``
    (:mod:`.runtimes`) with the eager ``reference`` on it; ``(False, why)`` where the
    runtime fails."""
    try:
        outputs = run_onnx(out, image, runtime)
    except Exception as exc:  # noqa: BLE001 the runtime's own message
        return False, (f'{RUNTIME_NAMES[runtime]} fails on it '
                       f'({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})')
    return compare(kind, reference, outputs, **how)
