"""The six fine-grained transfer datasets: names, mmpretrain classes, layouts.

mmpretrain 1.2.0 reads each dataset in its original, unmodified folder layout;
this module names those layouts and checks a data root *before* a run, so that
a wrong path fails with one line that says what the folder should contain
(mmpretrain itself fails late, with a bare ``FileNotFoundError`` or an
``AssertionError`` from deep inside the dataset class).
"""
import os.path as osp
from collections import OrderedDict

from ..errors import MissingFileError


class DatasetLayoutError(MissingFileError):
    """A data root that does not hold the expected folder layout."""


class _Spec:
    """One dataset: mmpretrain class, splits, class count and required entries.

    ``required`` is a list of alternatives; each alternative is a tuple of
    relative paths (a trailing ``/`` marks a folder) that must all exist.
    """

    def __init__(self, name, type, num_classes, train_split, test_split,
                 folder, layout, required, sample):
        self.name, self.type, self.num_classes = name, type, num_classes
        self.train_split, self.test_split = train_split, test_split
        self.folder, self.layout, self.required = folder, layout, required
        self.sample = sample  # function(root) -> (annotation file, first image) or None


def _cub_sample(root):
    return _first_image(root, 'images.txt', lambda ln: osp.join('images', ln.split()[1]))


def _aircraft_sample(root):
    return _first_image(root, 'data/images_variant_trainval.txt',
                        lambda ln: osp.join('data', 'images', ln.split()[0] + '.jpg'))


def _food_sample(root):
    return _first_image(root, 'meta/train.txt',
                        lambda ln: osp.join('images', ln.strip() + '.jpg'))


def _pets_sample(root):
    return _first_image(root, 'annotations/trainval.txt',
                        lambda ln: osp.join('images', ln.split()[0] + '.jpg'))


def _first_image(root, ann, to_path):
    """(annotation file, image path of its first line) or None if unparsable."""
    with open(osp.join(root, ann)) as f:
        line = next((ln for ln in f if ln.strip()), None)
    if line is None:
        return ann, None
    try:
        return ann, to_path(line)
    except IndexError:
        return ann, None


DATASETS = OrderedDict((spec.name, spec) for spec in [
    _Spec('cub', 'CUB', 200, 'train', 'test', 'CUB_200_2011',
          'images/<class>/*.jpg, images.txt, image_class_labels.txt, '
          'train_test_split.txt',
          [('images/', 'images.txt', 'image_class_labels.txt', 'train_test_split.txt')],
          _cub_sample),
    _Spec('cars', 'StanfordCars', 196, 'train', 'test', 'Stanford_Cars',
          'car_ims/*.jpg + cars_annos.mat, or cars_train/, cars_test/, '
          'devkit/cars_train_annos.mat, devkit/cars_test_annos_withlabels.mat',
          [('car_ims/', 'cars_annos.mat'),
           ('cars_train/', 'cars_test/', 'devkit/cars_train_annos.mat',
            'devkit/cars_test_annos_withlabels.mat')],
          None),
    _Spec('aircraft', 'FGVCAircraft', 100, 'trainval', 'test', 'fgvc-aircraft-2013b',
          'data/images/*.jpg, data/images_variant_trainval.txt, '
          'data/images_variant_test.txt',
          [('data/images/', 'data/images_variant_trainval.txt',
            'data/images_variant_test.txt')],
          _aircraft_sample),
    _Spec('flowers', 'Flowers102', 102, 'trainval', 'test', 'Flowers102',
          'jpg/image_00001.jpg..., imagelabels.mat, setid.mat',
          [('jpg/', 'imagelabels.mat', 'setid.mat')], None),
    _Spec('food', 'Food101', 101, 'train', 'test', 'food-101',
          'images/<class>/*.jpg, meta/train.txt, meta/test.txt',
          [('images/', 'meta/train.txt', 'meta/test.txt')], _food_sample),
    _Spec('pets', 'OxfordIIITPet', 37, 'trainval', 'test', 'Oxford-IIIT_Pets',
          'images/*.jpg, annotations/trainval.txt, annotations/test.txt',
          [('images/', 'annotations/trainval.txt', 'annotations/test.txt')],
          _pets_sample),
    # the embedded generated set (rexnet_mm.synthetic.finegrained),
    # read by mmpretrain's CUB class; its class count comes from classes.txt
    _Spec('synthetic', 'CUB', None, 'train', 'test', 'synthetic_birds',
          'CUB layout (images/<class>/*.jpg, images.txt, image_class_labels.txt, '
          'train_test_split.txt) + classes.txt, as written by '
          'python -m rexnet_mm.synthetic.finegrained',
          [('images/', 'images.txt', 'image_class_labels.txt', 'train_test_split.txt',
            'classes.txt')],
          _cub_sample),
])


def _exists(root, rel):
    path = osp.join(root, rel)
    return osp.isdir(path) if rel.endswith('/') else osp.isfile(path)


def expected_layout(name):
    spec = DATASETS[name]
    return f'{spec.folder}/{{{spec.layout}}}'


def check_layout(name, root):
    """Raise :class:`DatasetLayoutError` (one line) unless ``root`` fits ``name``."""
    if name not in DATASETS:
        raise KeyError(f'unknown dataset {name!r}; choose one of {list(DATASETS)}')
    spec = DATASETS[name]
    hint = f'expected layout {expected_layout(name)}'
    if not osp.isdir(root):
        raise DatasetLayoutError(f'{name} data root {root!r} is not a directory; {hint}')
    best = None
    for alternative in spec.required:
        missing = [rel for rel in alternative if not _exists(root, rel)]
        if not missing:
            best = None
            break
        if best is None or len(missing) < len(best):
            best = missing
    if best is not None:
        inner = osp.join(root, spec.folder)
        nested = (f' (did you mean {inner!r}?)' if osp.isdir(inner) else '')
        raise DatasetLayoutError(
            f'{name} data root {root!r} lacks {", ".join(best)}{nested}; {hint}')
    if spec.sample is not None:
        ann, image = spec.sample(root)
        if image is None:
            raise DatasetLayoutError(
                f'{name} annotation file {osp.join(root, ann)!r} is empty or '
                f'malformed; {hint}')
        if not osp.isfile(osp.join(root, image)):
            raise DatasetLayoutError(
                f'{name}: {ann} lists {image!r} but {osp.join(root, image)!r} does '
                f'not exist; {hint}')
