"""Helpers shared by the tests and the parity/benchmark tools (not used at run time)."""
import torch


def randomize_(model, seed=0, bn_scale=1.5):
    """Every float parameter and buffer (BN statistics included) random, deterministically.

    Conv/linear weights are variance-preserving; BN scales are drawn from
    ``[0.5, 0.5 + bn_scale]`` so that activations cross ReLU6's clip and a wrong
    activation, a swapped BN or a missing shortcut shows in the outputs, while
    outputs stay O(10) and float32 rounding stays ~1e-6. Returns the model in eval mode.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point():
                t.zero_()  # num_batches_tracked
            elif t.dim() == 1 and name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 1 and name.endswith('weight'):  # BN scale
                t.copy_(torch.rand(t.shape, generator=g) * bn_scale + 0.5)
            elif t.dim() == 1:  # BN shift and mean, conv/linear biases
                t.copy_(torch.randn(t.shape, generator=g))
            else:
                t.copy_(torch.randn(t.shape, generator=g) / t[0].numel() ** 0.5)
    return model.eval()


def timm_rexnet(width):
    """timm's ReXNet at any width, uninitialised (built on the meta device: timm's own
    init is slow and the callers overwrite every tensor)."""
    import timm
    names = {1.0: 'rexnet_100', 1.3: 'rexnet_130', 1.5: 'rexnet_150', 2.0: 'rexnet_200',
             3.0: 'rexnet_300'}
    with torch.device('meta'):
        model = timm.create_model(names[width], pretrained=False) if width in names \
            else timm.models.rexnet.RexNet(width_mult=width)
    model = model.to_empty(device='cpu')
    for name, buf in model.named_buffers():
        if name.endswith('num_batches_tracked'):
            buf.zero_()
    return model


#: timm ``features[i]`` whose outputs are our ReXNet taps 0..5.
TIMM_REXNET_TAPS = (0, 2, 4, 10, 15, 16)


def timm_rexnet_outputs(model, x):
    """Logits and the six tap feature maps of a timm ReXNet."""
    feats = []
    hooks = [model.features[i].register_forward_hook(lambda m, i, o: feats.append(o))
             for i in TIMM_REXNET_TAPS]
    try:
        logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return logits, feats


def rexnet_outputs(classifier, x):
    """Logits and all six taps of one of our ReXNet classifiers."""
    backbone = classifier.backbone
    saved = backbone.out_indices, backbone.num_used_layers
    backbone.out_indices, backbone.num_used_layers = tuple(range(6)), 7
    try:
        feats = backbone(x)
    finally:
        backbone.out_indices, backbone.num_used_layers = saved
    return classifier(x, mode='tensor'), feats


def rexnet_timm_parity(width, seed=0, size=64, batch=2):
    """Max |diff| of logits and of each tap between timm and ours on timm's random weights."""
    from .converters import convert_state_dict
    from .models.classifiers import build_rexnet_classifier
    ref = randomize_(timm_rexnet(width), seed=seed)
    model = build_rexnet_classifier(widen_factor=width).eval()
    converted, fmt = convert_state_dict(ref.state_dict(), 'rexnet')
    model.load_state_dict(converted, strict=True)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        ref_logits, ref_feats = timm_rexnet_outputs(ref, x)
        logits, feats = rexnet_outputs(model, x)
    diffs = [(logits - ref_logits).abs().max().item()]
    for ours, theirs in zip(feats, ref_feats):
        if ours.shape != theirs.shape:
            raise AssertionError(f'tap shape {tuple(ours.shape)} != timm {tuple(theirs.shape)}')
        diffs.append((ours - theirs).abs().max().item())
    return dict(format=fmt, logits_scale=ref_logits.abs().max().item(), logits=diffs[0],
                taps=diffs[1:])
