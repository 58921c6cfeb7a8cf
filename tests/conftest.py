"""Test isolation for state that OpenMMLab keeps in globals."""
import pytest


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    """A test that sets mmengine's default scope (``register_all_modules()``, a Runner)
    must not decide which registry the next test builds from."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
