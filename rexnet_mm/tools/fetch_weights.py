"""Fetch ImageNet weights by name into the cache, for later offline use, or list the zoo.

    python tools/fetch_weights.py rexnet-1.0 regnetx-3.2gf   # zoo names (rexnet_mm:// optional)
    python tools/fetch_weights.py hf-hub:timm/rexnet_130.nav_in1k https://.../x.pyth
    python tools/fetch_weights.py --all                      # every entry that has a source
    python tools/fetch_weights.py --list                     # the zoo: sources, hashes, cache

Each name is downloaded (a progress bar on stderr), checked against the sha256 known
for it, converted to rexnet_mm's layout and cached (``$REXNET_MM_CACHE/weights``, default
``~/.cache/rexnet_mm/weights``); its cached path is printed. Configs then name the same
weights (``init_cfg=dict(type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')``) and
find them there, also offline (``REXNET_MM_OFFLINE=1``). Exit status 1 if any failed.
"""
import argparse
import sys

from . import add_debug_flag, console, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__), description=__doc__.split('\n\n')[0])
    parser.add_argument('names', nargs='*', help='zoo names (rexnet-1.0, regnety-1.6gf, ...), '
                        'rexnet_mm://NAME, hf-hub:REPO or URLs')
    parser.add_argument('--all', action='store_true', help='every zoo entry with a source')
    parser.add_argument('--list', action='store_true', help='print the zoo and exit')
    args = add_debug_flag(parser).parse_args(argv)
    if not (args.names or args.all or args.list):
        parser.error('name the weights to fetch, or pass --all or --list')
    return args


def zoo_table():
    """The zoo as text: name, backbone, cached, and each source with its hash status."""
    from ..weights.download import cached, url_of
    from ..weights.zoo import SCHEME, ZOO, pinned_sha256
    lines = []
    for name, (backbone, sources) in ZOO.items():
        args = ', '.join(f'{k}={v!r}' for k, v in backbone.items() if k != 'type')
        state = 'cached' if cached(SCHEME + name) else 'not cached'
        lines.append(f'{name:16s} {backbone["type"]}({args})  [{state}]')
        for source in sources or ('(no public download known)',):
            if source.startswith('hf-hub:'):
                check = "sha256: the hub's ETag"
            elif source.startswith('manual:'):
                check = 'manual: a page for a browser'
            elif source.startswith('('):
                check = ''
            else:
                pin = pinned_sha256(url_of(source))
                check = (f'sha256 pinned: {pin}...' if pin
                         else 'sha256 recorded at the first download')
            lines.append(f'    {source}  {check}'.rstrip())
    return '\n'.join(lines)


@one_line_errors
def main(argv=None):
    from ..weights import CheckpointError, fetch
    from ..weights.zoo import SCHEME, ZOO, is_remote
    args = parse_args(argv)
    if args.list:
        print(zoo_table())
        return None
    names = list(args.names)
    if args.all:
        names += [n for n, (_, sources) in ZOO.items()
                  if any(not s.startswith('manual:') for s in sources)]
    failed = 0
    for name in names:
        spec = name if is_remote(name) else SCHEME + name
        try:  # an unknown zoo name is refused by fetch, naming the nearest ones
            print(f'{spec}: {fetch(spec, progress=True)}')
        except CheckpointError as exc:
            failed += 1
            print(f'error: {exc}', file=sys.stderr)
    if failed:
        sys.exit(f'error: {failed} of {len(names)} not fetched (see above)')


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
