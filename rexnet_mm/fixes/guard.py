"""What each upstream patch was written for, checked before it is applied.

A :class:`Fix` names the upstream releases it was written for (``requires``: package,
lowest version, first version *not* covered) and pins the upstream code it replaces,
wraps or relies on (``pins``: ``'module:Qualified.name'`` -> sha256 of
``inspect.getsource`` of that object as the pinned release ships it). :func:`guarded`
applies a patch only when both hold; otherwise it warns once, in one line naming the fix
and what differs, and leaves the upstream code alone: a patch written against other
code could do the wrong thing silently. A package that is not installed has nothing to
fix (no warning). ``tests/test_fixes.py`` recomputes every pin, so an upgrade fails a
test named after the fix; docs/install.md ("Upstream fixes") lists them.
"""
import dataclasses
import functools
import hashlib
import importlib
import inspect
import warnings


class UpstreamFixWarning(UserWarning):
    """An upstream patch was not applied: its package version or pinned code differs."""


@dataclasses.dataclass
class Fix:
    """One upstream patch: ``name``, ``requires`` (``(package, low, high)``: applied for
    ``low <= version < high``), ``pins`` (``{'module:qualname': sha256}``), a one-line
    ``summary`` for the docs table and an optional ``check()``: a last look at upstream
    (a reason not to apply, or None)."""
    name: str
    requires: tuple
    pins: dict
    summary: str = ''
    check: object = None

    def ranges(self):
        return ', '.join(f'{p} >={lo},<{hi}' for p, lo, hi in self.requires)


def _release(version):
    """``'2.14.1+cpu'`` -> ``(2, 14, 1)`` (pre-releases count as their release)."""
    from packaging.version import Version
    return Version(version).release


def installed_version(package):
    """``package.__version__``, or None where it is not installed."""
    try:
        return importlib.import_module(package).__version__
    except ImportError:
        return None


def resolve(target):
    """The upstream object ``'module:Qual.name'`` names, unwrapped from our wrappers
    (``functools.wraps`` sets ``__wrapped__``) so a pin always reads upstream's code."""
    module_name, _, qualname = target.partition(':')
    obj = importlib.import_module(module_name)
    for part in qualname.split('.'):
        obj = inspect.getattr_static(obj, part)
        if isinstance(obj, (classmethod, staticmethod)):
            obj = obj.__func__
    return inspect.unwrap(obj)


def source_sha256(target):
    """sha256 of the source of the object ``target`` names."""
    return hashlib.sha256(inspect.getsource(resolve(target)).encode()).hexdigest()


def problem(fix):
    """Why ``fix`` must not be applied here: ``None`` (apply it), ``''`` (a required
    package is not installed: nothing to fix) or a one-line reason."""
    for package, low, high in fix.requires:
        version = installed_version(package)
        if version is None:
            return ''
        if not _release(low) <= _release(version) < _release(high):
            return f'{package} {version} is outside the range it was written for ({fix.ranges()})'
    for target, pinned in fix.pins.items():
        try:
            digest = source_sha256(target)
        except (ImportError, AttributeError, OSError, TypeError) as e:
            return f'{target} cannot be read ({type(e).__name__}: {e})'
        if digest != pinned:
            versions = ', '.join(f'{p} {installed_version(p)}' for p, _, _ in fix.requires)
            return (f'{target} differs from the code it was written for ({versions}: sha256 '
                    f'{digest[:12]}, pinned {pinned[:12]})')
    return fix.check() if fix.check is not None else None


def guarded(fix, skipped=False):
    """Decorator: run the patch function only where :func:`problem` finds none, else
    return ``skipped`` (after a one-line :class:`UpstreamFixWarning` where the package is
    installed but not the one the fix was written for)."""
    def decorate(apply):
        @functools.wraps(apply)
        def wrapper(*args, **kwargs):
            reason = problem(fix)
            if reason is None:
                return apply(*args, **kwargs)
            if reason:
                warnings.warn(f"rexnet_mm fix '{fix.name}' not applied: {reason} (see "
                              f"docs/install.md, 'Upstream fixes')", UpstreamFixWarning,
                              stacklevel=2)
            return skipped

        wrapper.fix = fix
        return wrapper

    return decorate
