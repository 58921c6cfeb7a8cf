"""Test isolation for state that OpenMMLab keeps in globals, and no network.

The suite runs offline with an empty weights cache of its own: nothing may reach the
internet, and no weights a developer fetched may make a test pass. Download tests
(tests/test_weights_zoo.py) start their sources on 127.0.0.1 and lift the offline
switches for themselves."""
import atexit
import os
import shutil
import tempfile

import pytest

os.environ['REXNET_MM_OFFLINE'] = '1'
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['REXNET_MM_CACHE'] = tempfile.mkdtemp(prefix='rexnet_mm_test_cache_')
atexit.register(shutil.rmtree, os.environ['REXNET_MM_CACHE'], ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'parity: float32 parity against an independent implementation; '
        'tools/run_tests.sh runs these again under other numerics (1 thread, SSE4 kernels)')
    config.addinivalue_line(
        'markers', 'slow: trains (Runner, torchrun), builds a wheel or starts a fresh Python '
        'process; `bash tools/run_tests.sh --quick` (-m "not slow") leaves these out')


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    """A test that sets mmengine's default scope (``register_all_modules()``, a Runner)
    must not decide which registry the next test builds from."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture
def fast_config_dump(monkeypatch):
    """The Runner pretty-prints each config with yapf (about 1 s a time on 2 cores);
    the unformatted text is the same valid Python, so Runner-heavy tests skip the
    formatting (``pytestmark = pytest.mark.usefixtures('fast_config_dump')``)."""
    import mmengine.config.config as config_module
    monkeypatch.setattr(config_module, 'FormatCode', lambda text, **kwargs: (text, None))
