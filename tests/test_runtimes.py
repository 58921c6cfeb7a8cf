"""rexnet_mm.deploy.runtimes: one interface over ONNX Runtime and OpenVINO.

A small graph written with ``onnx.helper`` (no export, so this runs in the quick subset)
is run under each runtime against numpy computing the same thing; the file's metadata is
read back under each; the session cache gives the same compiled file back and a new one
when the file changes. Each model kind's parity under both runtimes is in
tests/test_deploy.py."""
import os

import numpy as np
import pytest

from rexnet_mm.deploy.runtimes import RUNTIMES, default_runtime, run, session


def _write(path, scale=2.0):
    """``out = relu(image * scale - 1)`` and ``total = sum(out)`` per image; int64
    ``argmax`` over the flattened image (an integer output, like a detector's labels)."""
    import onnx
    from onnx import TensorProto, helper
    nodes = [helper.make_node('Mul', ['image', 'scale'], ['scaled']),
             helper.make_node('Sub', ['scaled', 'one'], ['shifted']),
             helper.make_node('Relu', ['shifted'], ['out']),
             helper.make_node('ReduceSum', ['out', 'axes'], ['total'], keepdims=0),
             helper.make_node('Flatten', ['image'], ['flat'], axis=1),
             helper.make_node('ArgMax', ['flat'], ['argmax'], axis=1, keepdims=0)]
    inits = [helper.make_tensor('scale', TensorProto.FLOAT, [], [scale]),
             helper.make_tensor('one', TensorProto.FLOAT, [], [1.0]),
             helper.make_tensor('axes', TensorProto.INT64, [3], [1, 2, 3])]
    graph = helper.make_graph(
        nodes, 'g', [helper.make_tensor_value_info('image', TensorProto.FLOAT,
                                                   ['N', 3, 4, 5])],
        [helper.make_tensor_value_info('out', TensorProto.FLOAT, ['N', 3, 4, 5]),
         helper.make_tensor_value_info('total', TensorProto.FLOAT, ['N']),
         helper.make_tensor_value_info('argmax', TensorProto.INT64, ['N'])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    helper.set_model_props(model, {'model_kind': 'classifier', 'input_size': '[4, 5]'})
    onnx.save(model, str(path))
    return str(path)


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_each_runtime_runs_a_file_like_numpy(tmp_path, runtime):
    path = _write(tmp_path / 'g.onnx')
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    out, total, argmax = run(path, x, runtime)
    expected = np.maximum(x * 2 - 1, 0)
    # elementwise float32 arithmetic: exact; the sum of 60 terms within its rounding
    assert np.array_equal(out.numpy(), expected)
    assert np.allclose(total.numpy(), expected.sum((1, 2, 3)), rtol=1e-6)
    assert argmax.dtype.is_floating_point is False
    assert argmax.tolist() == x.reshape(2, -1).argmax(1).tolist()
    compiled = session(path, runtime)
    assert compiled.runtime == runtime
    assert compiled.metadata()['model_kind'] == 'classifier'
    # a dict feed and another batch size (the input is dynamic)
    assert run(path, {'image': x[:1]}, runtime)[0].shape == (1, 3, 4, 5)


def test_sessions_are_cached_until_the_file_changes(tmp_path):
    path = _write(tmp_path / 'g.onnx')
    first = session(path, 'ort')
    assert session(path, 'ort') is first and session(path, 'ort', threads=1) is not first
    _write(tmp_path / 'g.onnx', scale=3.0)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10 ** 9))
    x = np.ones((1, 3, 4, 5), np.float32)
    assert session(path, 'ort') is not first and run(path, x)[0].max() == 2.0


def test_an_unknown_runtime_is_one_line(tmp_path):
    from rexnet_mm.errors import InvalidValueError
    with pytest.raises(InvalidValueError, match="runtime 'tensorrt': use one of ort, "
                                                "openvino"):
        session(_write(tmp_path / 'g.onnx'), 'tensorrt')
    assert default_runtime('some later kind') == 'ort'


def test_a_default_runtime_that_does_not_compile_falls_back_to_onnx_runtime(tmp_path,
                                                                            monkeypatch):
    """The kind's default (OpenVINO) failing to compile a file (as OpenVINO 2026.4 does
    for detector graphs under ONEDNN_MAX_CPU_ISA=SSE41) gives ONNX Runtime and a one-line
    note; a default that compiles gives itself and no note."""
    from rexnet_mm.deploy import runtimes
    from rexnet_mm.deploy.runtimes import compiling_default
    path = _write(tmp_path / 'g.onnx')
    assert compiling_default(path, 'classifier') == (default_runtime('classifier'), None)

    class Refuses:
        runtime = 'openvino'

        def __init__(self, *args, **kwargs):
            raise RuntimeError('Exception from src/inference/src/cpp/core.cpp:117:\nbad '
                               'combination')

    monkeypatch.setitem(runtimes._SESSIONS, 'openvino', Refuses)
    monkeypatch.setattr(runtimes, '_CACHE', type(runtimes._CACHE)())
    monkeypatch.setitem(runtimes.DEFAULT_RUNTIME, 'classifier', 'openvino')
    runtime, note = compiling_default(path, 'classifier')
    assert runtime == 'ort'
    assert '\n' not in note and 'could not compile g.onnx' in note
    assert 'core.cpp:117' in note and '--runtime openvino' in note
