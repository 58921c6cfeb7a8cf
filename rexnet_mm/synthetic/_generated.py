"""What the embedded-data generators share: the output-folder guard (never
overwrite, reuse an identical dataset), the settings file and the image writer."""
import json
import os
import os.path as osp

from PIL import Image

from ..errors import ExistingFileError

INFO_FILE = 'synthetic_info.json'


def prepare_root(root, info, what):
    """Create ``root`` and return True, or return False if it already holds this very
    dataset (same ``info``). Anything else in it raises FileExistsError, untouched;
    ``what`` names the dataset in the message (e.g. ``'shapes dataset'``)."""
    info_path = osp.join(root, INFO_FILE)
    if osp.isdir(root) and os.listdir(root):
        if osp.isfile(info_path):
            with open(info_path) as f:
                if json.load(f) == info:
                    return False
            raise ExistingFileError(
                f'{root!r} holds a {what} generated with other settings ({info_path}); '
                f'choose another output directory (nothing was overwritten)')
        raise ExistingFileError(
            f'{root!r} exists and is not a generated {what}; choose an empty or new '
            f'output directory (nothing was overwritten)')
    os.makedirs(root, exist_ok=True)
    return True


def write_info(root, info):
    """Written last, so an interrupted run is never mistaken for a complete dataset."""
    with open(osp.join(root, INFO_FILE), 'w') as f:
        json.dump(info, f, indent=1)


def save_image(path, array, ext):
    """PNG, or JPEG at quality 95 with 4:4:4 chroma (thin coloured parts stay intact)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(array)
    if ext == 'jpg':
        img.save(path, quality=95, subsampling=0)
    else:
        img.save(path)
