"""``Train.dataset.resolution_schedule``: progressive resolution for detection training.

``[[first_epoch, size], ...]`` sets the training crop size (the ``size`` of the pipeline's crop
transform, EastRandomCropData) from ``first_epoch`` on, epochs numbered as in the training log
(``epoch: [3/8]``, from 1; 0 also means "from the start"). ``size`` is one side (square) or
``[width, height]``, a multiple of 32 (DBNet's FPN adds maps of stride 4-32). Epochs before the first
entry keep the transform's own ``size``.

The epoch travels with each sample index (sampler.EpochIndex, set by the batch sampler), so a
DataLoader worker picks the size of the batch's epoch whatever its timing, prefetching or count.
"""
from ppexp.data.imaug.registry import declares
from ppexp.errors import UsageError

KEY = "Train.dataset.resolution_schedule"
SIDE_MULTIPLE = 32


def _size(value, where):
    sides = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(sides, (list, tuple)) and len(sides) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) for s in sides)):
        raise UsageError(f"{where}: the size must be one integer side or [width, height], got {value!r}")
    if min(sides) < SIDE_MULTIPLE or any(s % SIDE_MULTIPLE for s in sides):
        raise UsageError(f"{where}: crop sides must be positive multiples of {SIDE_MULTIPLE} (DBNet's FPN "
                         f"needs them), got {value!r}")
    return int(sides[0]), int(sides[1])


def parse_schedule(value, key=KEY):
    """[(first_epoch, (width, height))] in increasing epoch order; UsageError naming ``key`` otherwise."""
    example = "e.g. [[1, 640], [4, 960]]: 640x640 crops from epoch 1, 960x960 from epoch 4"
    if not isinstance(value, (list, tuple)) or not value:
        raise UsageError(f"{key} must be a non-empty list of [first_epoch, size] pairs ({example}), got {value!r}")
    out = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise UsageError(f"{where} must be a [first_epoch, size] pair ({example}), got {item!r}")
        epoch, size = item
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise UsageError(f"{where}: first_epoch must be an integer >= 0 (epochs count from 1), got {epoch!r}")
        if out and epoch <= out[-1][0]:
            raise UsageError(f"{where}: epochs must increase, but {epoch} follows {out[-1][0]}")
        out.append((epoch, _size(size, where)))
    return out


class ResolutionSchedule:
    """Sets the crop transform's ``size`` for an epoch (in whichever process runs the transforms)."""

    def __init__(self, entries, crop_op):
        self.entries = entries
        self.crop_op = crop_op
        self.base = tuple(crop_op.size)

    @classmethod
    def from_dataset(cls, mode, dataset_config, ops):
        """The dataset's schedule, or None when its config has none."""
        value = dataset_config.get("resolution_schedule")
        if value is None:
            return None
        key = f"{mode}.dataset.resolution_schedule"
        if mode != "Train":
            raise UsageError(f"{key}: a resolution schedule applies to training crops only; move it to {KEY}")
        entries = parse_schedule(value, key)
        crops = [op for op in ops if declares(op, "scheduled_size")]
        if len(crops) != 1:
            raise UsageError(f"{key} needs exactly one crop transform with a size (EastRandomCropData) in "
                             f"Train.dataset.transforms; found {len(crops)}")
        return cls(entries, crops[0])

    def size_for(self, epoch):
        size = self.base
        for first, entry in self.entries:
            if epoch >= first:
                size = entry
        return size

    def apply(self, epoch):
        self.crop_op.size = self.size_for(epoch)
