"""tools/analysis/benchmark_train.py compares like with like: the TIMMBackbone peer is
tapped where ours is (same channels and strides), and a training step of every variant
changes its weights. Times are the command's business, not the tests'."""
import pytest
import torch

from rexnet_mm.analysis import benchmark_train as bt

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('family', ['ssdlite', 'faster-rcnn'])
def test_timm_peer_has_our_taps(family):
    variants = {name: (path, options) for name, path, options, _ in bt.variants(family)}
    ours_name = next(n for n in variants if 'ReXNet-1.0' in n and
                     ('taps 128' in n or 'ours' in n))
    timm_name = next(n for n in variants if 'TIMMBackbone' in n)
    x = torch.randn(2, 3, 128, 128)
    shapes = {}
    for name in (ours_name, timm_name):
        model, _ = bt.build(*variants[name])
        with torch.no_grad():
            shapes[name] = [tuple(f.shape) for f in model.eval().backbone(x)]
    assert shapes[ours_name] == shapes[timm_name]
    assert len(shapes[ours_name]) in (2, 4)


def test_a_training_step_updates_the_weights():
    name, path, options, channels_last = bt.variants('ssdlite')[0]
    model, scope = bt.build(path, options)
    inputs, samples = bt.batch(model, scope, 'ssdlite', 96, 2)
    before = model.backbone.conv1.conv.weight.detach().clone()
    bt.train_step_fn(model, scope, inputs, samples)()
    assert not torch.equal(before, model.backbone.conv1.conv.weight)
