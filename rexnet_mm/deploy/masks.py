"""Mask R-CNN's last step outside the graph: :func:`paste_masks`, mmdet's
``FCNMaskHead`` paste (``_do_paste_mask``: bilinear ``grid_sample``, ``align_corners=False``,
zeros outside the box's grid) and ``mask_thr_binary`` threshold, in numpy.

The exported file gives each detection's mask probabilities on the mask head's ``M x M``
grid over its box (:mod:`.detectors`). Pasted with the boxes in the input's pixels into
the input's ``H x W``, they are mmdet's ``predict(rescale=False)`` masks; with the boxes
in the original image's pixels into its ``H0 x W0``, mmdet's ``rescale=True`` masks
(``DetInferencer``'s). Bilinear sampling is separable, so each mask is two small matrix
products (``H x M @ M x M @ M x W``), the four corner weights of ``grid_sample`` summed
in another order (float32 rounding apart, the same numbers). Needs numpy only.
"""
import numpy as np


def _weights(n, lo, hi, size):
    """``n x size``: the bilinear weights with which pixel ``j`` (centre ``j + 0.5``)
    samples the ``size`` cells spread over ``[lo, hi]``, computed in float32 in the order
    of mmdet's grid (``(j + 0.5 - lo) / (hi - lo) * 2 - 1``) and torch's ``grid_sample``
    (``((g + 1) * size - 1) / 2``); cells outside the grid weigh nothing (zero padding)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        g = (np.arange(n, dtype=np.float32) + np.float32(0.5) - lo) / (hi - lo) * \
            np.float32(2) - np.float32(1)
    g[np.isinf(g)] = 0  # a box of no width or height, as mmdet
    src = ((g + np.float32(1)) * np.float32(size) - np.float32(1)) / np.float32(2)
    lo_cell = np.floor(src)
    upper = src - lo_cell
    out = np.zeros((n, size + 2), np.float32)  # a cell each side for the outside ones
    rows = np.arange(n)
    finite = np.isfinite(src)
    cell = np.clip(lo_cell, -1, size).astype(np.int64) + 1
    out[rows[finite], cell[finite]] += (np.float32(1) - upper)[finite]
    cell = np.clip(lo_cell + 1, -1, size).astype(np.int64) + 1
    out[rows[finite], cell[finite]] += upper[finite]
    return out[:, 1:-1]


def paste_masks(probs, boxes, shape, threshold=0.5):
    """``K x H x W`` masks of ``probs`` (``K x M x M`` float, the exported ``masks``)
    pasted into an ``H x W`` image (``shape``) over ``boxes`` (``K x 4``, x1 y1 x2 y2 in
    that image's pixels), as mmdet pastes them: bool ``>= threshold`` (mmdet's
    ``mask_thr_binary``, the file's metadata), or the pasted probabilities where
    ``threshold`` is None."""
    probs = np.asarray(probs, np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    h, w = (int(v) for v in shape)
    out = np.zeros((len(probs), h, w), np.float32 if threshold is None else bool)
    for k, (m, (x0, y0, x1, y1)) in enumerate(zip(probs, boxes)):
        pasted = _weights(h, y0, y1, m.shape[0]) @ m @ _weights(w, x0, x1, m.shape[1]).T
        out[k] = pasted if threshold is None else pasted >= threshold
    return out
