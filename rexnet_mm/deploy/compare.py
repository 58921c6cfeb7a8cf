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


def eager_reference(model, kind, scope, image):
    """What the unfused eager model predicts on ``image`` (BGR 0-255), through mmdet /
    mmseg / mmpretrain's own code, in the exported outputs' form."""
    from ..fixes import default_scope
    with torch.no_grad(), default_scope(scope):
        if kind in DETECTORS:
            pred = model.predict(*det_inputs(model, image), rescale=False)[0]
            inst = pred.pred_instances
            return [inst.bboxes, inst.scores, inst.labels]
        return [EXPORTS[kind](model)(image)]


def compare(kind, reference, outputs):
    """Parity of a runtime's ``outputs`` with the eager model's ``reference`` (same
    order); returns ``(ok, text)``."""
    if kind == 'classifier':
        diff = rel_diff(outputs[0], reference[0])
        return diff <= SCORE_RTOL, f'scores: max relative difference {diff:.1e} ' \
                                   f'(bound {SCORE_RTOL:g})'
    if kind == 'segmentor':
        same = (outputs[0] == reference[0]).float().mean().item()
        return same >= LABEL_AGREEMENT, f'labels: {same:.4%} of pixels equal ' \
                                        f'(bound {LABEL_AGREEMENT:.1%})'
    boxes, scores, labels = reference
    k = min(len(scores), 10)
    if len(outputs[1]) < k:
        return False, f'{len(outputs[1])} detections, eager {len(scores)}'
    if k == 0:
        return True, 'no detection above the score threshold (eager: none either)'
    from torchvision.ops import box_iou
    # each of eager's top k is matched to the runtime's detection of the same label with
    # the best IoU, not to the one of the same rank: detections with equal scores (to
    # float precision) come in either order
    iou = box_iou(boxes[:k], outputs[0]) * (labels[:k, None] == outputs[2][None])
    best, match = iou.max(1)
    dscore = (outputs[1][match] - scores[:k]).abs().max().item()
    ok = best.min().item() >= BOX_IOU and dscore <= DET_SCORE_ATOL
    return ok, (f'top {k} detections matched (same label, best IoU): min IoU '
                f'{best.min().item():.4f} (bound {BOX_IOU}), max |score diff| '
                f'{dscore:.1e} (bound {DET_SCORE_ATOL:g})')


def compare_file(kind, reference, out, image, runtime='ort'):
    """:func:`compare` of the file ``out`` run on ``image`` under ``runtime``
    (:mod:`.runtimes`) with the eager ``reference`` on it; ``(False, why)`` where the
    runtime fails."""
    try:
        outputs = run_onnx(out, image, runtime)
    except Exception as exc:  # noqa: BLE001 the runtime's own message
        return False, (f'{RUNTIME_NAMES[runtime]} fails on it '
                       f'({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})')
    return compare(kind, reference, outputs)
