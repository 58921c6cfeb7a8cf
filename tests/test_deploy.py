"""tools/deploy.py: ONNX export (BN folded) checked under ONNX Runtime.

Independent references: the eager, unfused model through mmpretrain's / mmseg's code
and, for SSD, mmdet's own ``predict`` (score threshold, per-level nms_pre, NMS,
max_per_img), against the exported graph run by ONNX Runtime; the graph's operators
read back with ``onnx``. Weights are randomised (rexnet_mm.analysis.parity.randomize_)
so that every layer matters.
"""
import os.path as osp

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.complexity import build_random_model
from rexnet_mm.analysis.parity import randomize_
from rexnet_mm.tools.deploy import main as deploy

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLS = osp.join(ROOT, 'configs', 'classification', 'rexnet-1.0_4xb128_in1k.py')
SEG = osp.join(ROOT, 'configs', 'segmentation', 'demo', 'fpn_rexnet-1.0_shapes.py')
DET = osp.join(ROOT, 'configs', 'detection', 'demo', 'ssdlite_rexnet_shapes.py')
RCNN = osp.join(ROOT, 'configs', 'detection', 'faster-rcnn',
                'faster-rcnn_rexnet-1.0_fpn_1x_coco.py')


def _checkpoint(config, path, seed=0):
    model, _, _ = build_random_model(config)
    randomize_(model, seed=seed)
    torch.save({'state_dict': model.state_dict()}, str(path))
    return str(path)


def _ops(path):
    import onnx
    return {node.op_type for node in onnx.load(path).graph.node}


def _number(text, after):
    return float(text.split(after)[1].split()[0].rstrip(',%'))


def test_classifier_exports_fused_with_dynamic_batch_and_size(tmp_path, capsys):
    out = str(tmp_path / 'cls.onnx')
    result = deploy([CLS, _checkpoint(CLS, tmp_path / 'cls.pth'), '--out', out,
                     '--dynamic'])
    printed = capsys.readouterr().out
    print(printed)
    assert result['kind'] == 'classifier' and result['folded'] == 62
    assert 'BatchNormalization' not in _ops(out)
    assert _number(result['parity'], 'difference ') <= 1e-4
    assert 'batch 2 at 256x256' in result['dynamic_parity']
    assert _number(result['dynamic_parity'], 'difference ') <= 1e-4
    assert 'ONNX Runtime vs eager PyTorch: scores' in printed


def test_segmentor_labels_agree_at_other_sizes(tmp_path):
    """The FPN head's upsampling stays relative to the input (traced as a constant
    size it was wrong at any other size: 7% of the logits' scale)."""
    out = str(tmp_path / 'seg.onnx')
    result = deploy([SEG, _checkpoint(SEG, tmp_path / 'seg.pth'), '--out', out,
                     '--dynamic'])
    assert result['kind'] == 'segmentor'
    assert _number(result['parity'], 'labels: ') >= 99.9
    assert _number(result['dynamic_parity'], 'labels: ') >= 99.9
    assert 'BatchNormalization' not in _ops(out)


def test_ssdlite_exports_with_nms_and_matches_mmdet_predict(tmp_path):
    out = str(tmp_path / 'det.onnx')
    image = tmp_path / 'shapes.png'
    import mmcv
    import numpy as np

    from rexnet_mm.synthetic.shapes_coco import render_image
    mmcv.imwrite(render_image(np.random.default_rng(3), size=160)[0], str(image))
    result = deploy([DET, _checkpoint(DET, tmp_path / 'det.pth'), '--out', out,
                     '--image', str(image)])
    assert result['kind'] == 'ssd' and result['shape'] == (128, 128)
    ops = _ops(out)
    assert 'NonMaxSuppression' in ops and 'BatchNormalization' not in ops
    assert 'top 10 detections: labels equal' in result['parity'], result['parity']
    assert _number(result['parity'], 'min IoU ') >= 0.99
    assert _number(result['parity'], 'score diff| ') <= 1e-3


def test_existing_output_is_kept_without_force(tmp_path):
    out = tmp_path / 'cls.onnx'
    out.write_bytes(b'mine')
    ckpt = _checkpoint(CLS, tmp_path / 'cls.pth')
    with pytest.raises(SystemExit) as err:
        deploy([CLS, ckpt, '--out', str(out)])
    assert str(err.value).startswith('error: ') and '--force' in str(err.value)
    assert '\n' not in str(err.value) and out.read_bytes() == b'mine'
    deploy([CLS, ckpt, '--out', str(out), '--force', '--shape', '96', '96'])
    assert 'Conv' in _ops(str(out))


@pytest.mark.parametrize('case', ['missing', 'truncated', 'other model', 'rcnn',
                                  'ssd dynamic'])
def test_bad_input_is_one_line(case, tmp_path):
    config, ckpt = CLS, str(tmp_path / 'missing.pth')
    extra, expected = [], 'does not exist'
    if case == 'truncated':
        good = _checkpoint(CLS, tmp_path / 'good.pth')
        ckpt = str(tmp_path / 'bad.pth')
        open(ckpt, 'wb').write(open(good, 'rb').read()[:1000])
        expected = 'cannot be loaded'
    elif case == 'other model':
        ckpt, expected = _checkpoint(SEG, tmp_path / 'seg.pth'), 'does not fit'
    elif case == 'rcnn':
        config = RCNN
        ckpt = _checkpoint(RCNN, tmp_path / 'rcnn.pth')
        expected = 'export is implemented for classifiers, segmentors and SSD'
    elif case == 'ssd dynamic':
        config, extra, expected = DET, ['--dynamic'], 'anchors are constants'
        ckpt = _checkpoint(DET, tmp_path / 'det.pth')
    with pytest.raises(SystemExit) as err:
        deploy([config, ckpt, '--out', str(tmp_path / 'x.onnx'), *extra])
    message = str(err.value)
    assert message.startswith('error: ') and '\n' not in message, message
    assert expected in message, message
    assert not osp.exists(tmp_path / 'x.onnx')


def test_a_mismatch_fails_the_command(tmp_path, monkeypatch):
    """The parity check can fail: ONNX Runtime's scores moved by 1e-3 of their scale."""
    import rexnet_mm.apis.deploy as api
    run = api.run_onnx
    monkeypatch.setattr(api, 'run_onnx', lambda path, image: [
        o + 1e-3 * o.abs().max() for o in run(path, image)])
    with pytest.raises(SystemExit) as err:
        deploy([CLS, _checkpoint(CLS, tmp_path / 'cls.pth'), '--out',
                str(tmp_path / 'cls.onnx'), '--shape', '96', '96'])
    assert 'does not match the eager model' in str(err.value)
