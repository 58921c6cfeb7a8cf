"""Comparing two implementations' tensors (layer 0: imports nothing of rexnet_mm): the
parity tests and report tools (:mod:`rexnet_mm.analysis.parity`) and the ONNX export's
check against the eager model (:mod:`rexnet_mm.deploy.compare`) measure with these."""


def max_diff(a, b):
    """``max |a - b|`` of two tensors of the same shape (AssertionError otherwise)."""
    if a.shape != b.shape:
        raise AssertionError(f'shape {tuple(a.shape)} != reference {tuple(b.shape)}')
    return (a - b).abs().max().item()


def rel_diff(a, b):
    """``max |a - b| / max |b|``: the error of ``a`` relative to the scale of the
    reference ``b`` (the bound of two float32 implementations of one network:
    :data:`rexnet_mm.analysis.parity.PARITY_RTOL`)."""
    scale = b.abs().max().item()
    if scale == 0:
        raise AssertionError('reference is all zeros: a degenerate comparison')
    return max_diff(a, b) / scale
