"""Training configuration of the screening CNN, with the thesis defaults."""
from __future__ import annotations

import dataclasses
from ..configs import SavedConfig
from dataclasses import dataclass

from ..data import normalise_attribute

SOURCES = ("MP", "OQMD", "ICSD")
ATTRIBUTES = ("band_gap", "formation_energy", "delta_e", "stability", "volume_pa")

# Table 4.2 (batch size, learning rate); other attributes take the appendix defaults.
TABLE_4_2 = {"band_gap": (256, 0.01), "formation_energy": (512, 0.1), "delta_e": (512, 0.1)}
APPENDIX_DEFAULTS = (512, 1e-3)
ARCHITECTURES = ("thesis", "attention")
# the attention model's defaults (batch, learning rate, loss, schedule), for every attribute
ATTENTION_DEFAULTS = (256, 5e-4, "mae", "cosine")
# properties that cannot be negative: the attention model's output head is non-negative for them, and
# every model's predictions of them are clipped at 0 (tfmat.cnn.predict)
NON_NEGATIVE = ("band_gap", "stability", "volume_pa")
THESIS_SPLIT_SEED = 520  # appendix code: inner train/test split
# the architecture of the shipped models that predict, export and screen use when no model is named
DEFAULT_ARCH = "attention"


def model_name(attribute: str, arch: str = DEFAULT_ARCH, data_name: str = "MP") -> str:
    """``<data>_<attribute>``, with ``_attention`` for the attention model: a run's default folder under
    ``runs/cnn/`` and a shipped model's name (``model_name("band_gap", "thesis")`` is ``MP_band_gap``)."""
    return f"{data_name.upper()}_{normalise_attribute(attribute)}" + ("_attention" if arch == "attention" else "")


@dataclass
class CNNConfig(SavedConfig):
    """Everything that defines a CNN training run; saved next to every checkpoint.

    ``folds=1`` is a single seeded split (10% validation, the rest 90/10 into
    train/test). ``folds=K`` is K-fold cross-validation: each fold is the
    validation set once, the other folds are split 90/10 into train and test,
    and the weights with the best test R² are kept (SPEC §6; the test split is
    scored after every epoch, where the thesis code scored it every 40
    batches). ``holdout`` sets
    a fraction aside before any of this, to score the ensemble of all fold
    models on compositions none of them saw, and ``calibration`` another
    fraction, on which only the ensemble's uncertainty is scaled
    (:mod:`tfmat.cnn.calibration`).

    ``arch`` is ``thesis`` (table 4.1, with ``filters``/``dense``/``fractions``)
    or ``attention`` (:mod:`tfmat.models.attention`, with ``width``/``heads``/
    ``blocks``); the batch size, learning rate, loss and schedule left unset
    take the thesis's table 4.2 for the first and :data:`ATTENTION_DEFAULTS`
    for the second.
    """

    data_name: str = "MP"
    attribute: str = "band_gap"
    lr: float | None = None          # None: table 4.2
    batch_size: int | None = None    # None: table 4.2
    epochs: int = 1000               # appendix default
    folds: int = 1
    repeats: int = 1
    seed: int = THESIS_SPLIT_SEED
    validation_fraction: float = 0.1  # for folds == 1
    test_fraction: float = 0.1        # inner train/test split
    holdout: float = 0.0
    loss: str | None = None           # None: mse (thesis), mae (attention)
    schedule: str | None = None       # "constant" or "cosine" (decay to 0 over the run); None: by arch
    filters: int = 32
    dense: int = 32
    fractions: int = 0                # width of the element-fraction branch; 0: the thesis CNN
    data: str | None = None           # user CSV (required for ICSD)
    label_range: list[float] | None = None  # [lo, hi] a label must lie in; None: the property's physical range
    drop_bad_rows: bool = False       # leave out a user file's bad rows (listed in rejects.csv) instead of stopping
    arch: str = "thesis"
    width: int = 128                  # attention: token width
    heads: int = 4                    # attention: heads per block
    blocks: int = 3                   # attention: encoder blocks
    calibration: float = 0.0          # fraction set aside to scale the ensemble's uncertainty
    arity_batches: bool = False       # attention: batches of one arity, each padded to it alone

    RERUN_FREE = ("data",)  # a run is bound to its rows (their hash), not to the file's path
    ADDED = ("arch", "width", "heads", "blocks", "calibration", "arity_batches")

    def __post_init__(self):
        self.data_name = self.data_name.upper()
        self.attribute = normalise_attribute(self.attribute)
        if self.arch == "attention":
            default_batch, default_lr, default_loss, default_schedule = ATTENTION_DEFAULTS
        else:
            default_batch, default_lr = TABLE_4_2.get(self.attribute, APPENDIX_DEFAULTS)
            default_loss, default_schedule = "mse", "constant"
        if self.batch_size is None:
            self.batch_size = default_batch
        if self.lr is None:
            self.lr = default_lr
        if self.loss is None:
            self.loss = default_loss
        if self.schedule is None:
            self.schedule = default_schedule
        self.check()

    def check(self) -> None:
        from ..errors import UsageError

        problems = []
        if self.data_name not in SOURCES:
            problems.append(f"--data_name must be one of {', '.join(SOURCES)}, not {self.data_name!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.folds < 1 or self.repeats < 1:
            problems.append("--epochs, --batch_size, --folds and --repeats must be positive")
        if self.folds == 2 or self.folds > 100:
            problems.append("--folds must be 1 (single split) or 3..100")
        if not 0 <= self.holdout < 0.5 or not 0 <= self.calibration < 0.5:
            problems.append("--holdout and --calibration must be in [0, 0.5)")
        if self.arch not in ARCHITECTURES:
            problems.append(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {self.arch!r}")
        if self.arity_batches and self.arch != "attention":
            problems.append("--arity-batches is for --arch attention")
        if self.width < 4 or self.width % 4 or self.heads < 1 or self.width % self.heads or self.blocks < 1:
            problems.append("--width must be a positive multiple of 4 and of --heads; --blocks positive")
        if self.lr <= 0:
            problems.append("--lr must be positive")
        if self.fractions < 0 or self.filters < 1 or self.dense < 1:
            problems.append("--filters and --dense must be positive, --fractions >= 0")
        if self.loss not in ("mse", "mae", "huber"):
            problems.append("--loss must be mse, mae or huber")
        if self.label_range is not None and not (len(self.label_range) == 2
                                                 and self.label_range[0] < self.label_range[1]):
            problems.append("--label-range takes LO HI with LO < HI")
        if self.schedule not in ("constant", "cosine"):
            problems.append("--schedule must be constant or cosine")
        if problems:
            raise UsageError("; ".join(problems))

    @property
    def name(self) -> str:
        """The run's :func:`model_name`."""
        return model_name(self.attribute, self.arch, self.data_name)



