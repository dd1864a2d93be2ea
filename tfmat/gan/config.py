"""MatGAN's configurations as plain data: layer tables and thesis hyperparameters.

Kept free of Keras so command lines can show them without loading TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..configs import SavedConfig
from ..elements import MAX_COUNT

DEFAULT_CRITIC_NORM = "layer"
# tfmat.gan.matgan.build_generator
GENERATOR_OUTPUTS = ("sigmoid", "softmax", "onehot", "exact_arity", "exact_arity_soft")


@dataclass(frozen=True)
class Layer:
    filters: int
    kernel: int | tuple[int, int]
    strides: tuple[int, int]
    shape: tuple[int, int, int]  # output (height, width, channels)


@dataclass(frozen=True)
class Architecture:
    seed_shape: tuple[int, int, int]  # the generator's dense layer, reshaped
    generator: tuple[Layer, ...]
    critic: tuple[Layer, ...]


def _g(f, k, s, h, w=MAX_COUNT):
    return Layer(f, k, s, (h, w, f))


ARCHITECTURES: dict[str, Architecture] = {
    "oqmd": Architecture(
        (6, 4, 256),
        (_g(128, 5, (2, 2), 11), _g(128, 3, (2, 1), 22), _g(64, 3, (1, 1), 22), _g(64, 3, (2, 1), 43),
         _g(32, 3, (1, 1), 43), _g(32, 3, (2, 1), 85), _g(1, 3, (1, 1), 85)),
        (_g(32, 3, (1, 1), 85), _g(32, 3, (2, 1), 43), _g(64, 3, (1, 1), 43), _g(64, 3, (2, 1), 22),
         _g(128, 3, (1, 1), 22), _g(128, 3, (2, 1), 11), _g(256, 5, (2, 2), 6, 4))),
    "mp": Architecture(
        (6, 4, 128),
        (_g(64, 5, (2, 2), 11), _g(32, 3, (2, 1), 22), _g(16, 3, (2, 1), 43), _g(1, 3, (2, 1), 85)),
        (_g(16, 3, (2, 1), 43), _g(32, 3, (2, 1), 22), _g(64, 3, (2, 1), 11), _g(128, 5, (2, 2), 6, 4))),
    "signal": Architecture(
        (6, 4, 192),
        (_g(96, 5, (2, 2), 11), _g(64, 3, (2, 1), 22), _g(32, 3, (2, 1), 43), _g(16, 3, (2, 1), 85),
         _g(1, 3, (1, 1), 85)),
        (_g(16, 3, (1, 1), 85), _g(32, 3, (2, 1), 43), _g(64, 3, (2, 1), 22), _g(96, 3, (2, 1), 11),
         _g(192, 5, (2, 2), 6, 4))),
    # The public MatGAN code's layouts, where they differ from the thesis tables: its MP critic keeps 43 rows
    # through three convs and scores (22, 4, 128) features; its OQMD generator refines at each height before
    # halving the channels. (That code also leaves the critic's first conv unnormalised.)
    "mp_code": Architecture(
        (6, 4, 128),
        (_g(64, 5, (2, 2), 11), _g(32, 3, (2, 1), 22), _g(16, 3, (2, 1), 43), _g(1, 3, (2, 1), 85)),
        (_g(16, 3, (1, 1), 85), _g(16, 3, (2, 1), 43), _g(32, 3, (1, 1), 43), _g(64, 3, (1, 1), 43),
         _g(128, 5, (2, 2), 22, 4))),
    "oqmd_code": Architecture(
        (6, 4, 256),
        (_g(128, 5, (2, 2), 11), _g(128, 3, (1, 1), 11), _g(64, 3, (2, 1), 22), _g(64, 3, (1, 1), 22),
         _g(32, 3, (2, 1), 43), _g(32, 3, (1, 1), 43), _g(1, 3, (2, 1), 85)),
        (_g(32, 3, (1, 1), 85), _g(32, 3, (2, 1), 43), _g(64, 3, (1, 1), 43), _g(64, 3, (2, 1), 22),
         _g(128, 3, (1, 1), 22), _g(128, 3, (2, 1), 11), _g(256, 5, (2, 2), 6, 4))),
}


# --------------------------------------------------------------------------- configs
@dataclass
class GanConfig(SavedConfig):
    """Hyperparameters of one MatGAN run (thesis values by default; see :data:`THESIS_CONFIGS`)."""

    dataset: str = "MP"
    architecture: str = "mp"
    latent_dim: int = 128
    g_lr: float = 1e-3
    d_lr: float = 1e-2
    beta_1: float = 0.5
    beta_2: float = 0.9
    batch_size: int = 32
    critic_steps: int = 1
    epochs: int = 1000
    gp_weight: float = 10.0
    critic_norm: str = DEFAULT_CRITIC_NORM
    critic_presence: bool = False  # the critic's element-presence head (tfmat.gan.matgan.build_critic)
    decoded_critic: bool = False  # the critic scores fakes as decoding reads them (tfmat.gan.matgan.MatGAN)
    generator_output: str = "sigmoid"  # per cell (thesis), or per element row (tfmat.gan.matgan.RowSoftmax)
    sharpness: float = 0.0  # weight of the generator's ambiguity term (tfmat.gan.matgan.ambiguity); 0: thesis
    arity_condition: bool = False  # generator and critic told each sample's element count (tfmat.gan.matgan)
    seed: int = 0
    jit_compile: bool = False
    strategy: str = "auto"

    # a rerun may extend the epochs and move to other devices; any other change starts another run
    RERUN_FREE = ("epochs", "strategy", "jit_compile")
    ADDED = ("critic_presence", "decoded_critic", "generator_output", "sharpness", "arity_condition")




THESIS_CONFIGS: dict[str, GanConfig] = {
    "OQMD": GanConfig("OQMD", "oqmd", batch_size=512),
    "MP": GanConfig("MP", "mp"),
    "ICSD": GanConfig("ICSD", "mp"),
    "ICSD_Filter": GanConfig("ICSD_Filter", "signal"),
    "Bandgap": GanConfig("Bandgap", "signal"),
}


@dataclass
class CCCGanConfig(SavedConfig):
    """Hyperparameters of one CCCGAN run (the public code's values by default, SPEC §9)."""

    dataset: str = "CCCGAN"
    system: str = "MgMnO"  # the slot layout (tfmat.structure.codec.LAYOUTS)
    noise_dim: int = 512
    width: int = 256  # channels of the per-row convolutions
    g_lr: float = 5e-5
    d_lr: float = 5e-5
    c_lr: float = 2.5e-5  # the classifier's
    beta_1: float = 0.5
    beta_2: float = 0.999
    decay: float = 0.95  # learning rates × decay every decay_epochs
    decay_epochs: int = 10
    batch_size: int = 32
    critic_steps: int = 5  # critic (and classifier) updates per generator update
    gp_weight: float = 10.0
    count_weight: float = 0.3  # the count cross-entropy terms; the occupancy ones weigh 1
    mask_slots: bool = True  # the composition picks the occupied slots (False: the paper's free slots)
    distance_weight: float = 10.0  # weight of the generator's clash term (0: the paper's loss)
    contact: float = 1.4  # Å, the clash term's distance; the training set's shortest is 1.38 Å
    repel_steps: int = 5  # soft-sphere steps at the generator's end (0: the paper's generator); needs mask_slots
    epochs: int = 200
    seed: int = 0
    strategy: str = "auto"

    RERUN_FREE = ("epochs", "strategy", "jit_compile")




def read_model_config(model_dir, config_class):
    """``(config, weights path)`` of a run or shipped folder holding ``generator.keras`` and a
    ``config.json`` of ``config_class`` (its ``dataset``); ValueError saying what is wrong otherwise."""
    import json
    from pathlib import Path

    folder = Path(model_dir)
    config_file, weights = folder / "config.json", folder / "generator.keras"
    want = config_class.dataset
    if not config_file.is_file() or not weights.is_file():
        raise ValueError(f"{folder} is not a {want} model folder (it needs config.json and generator.keras)")
    values = json.loads(config_file.read_text())
    if values.get("dataset") != want:
        raise ValueError(f"{folder} holds a {values.get('dataset')} model, not a {want} one")
    return config_class.from_dict(values), weights


CRYSTALGAN_VARIANTS = ("crystalgan", "discogan", "noise")


@dataclass
class CrystalGanConfig(SavedConfig):
    """Hyperparameters of one CrystalGAN run (the paper's values by default, SPEC §10).

    ``variant``: ``crystalgan`` (the three steps), ``discogan`` (step 1 only) or ``noise`` (one
    generator from Gaussian noise, one discriminator on both domains), the paper's baselines.
    """

    dataset: str = "CrystalGAN"
    variant: str = "crystalgan"
    metal_a: str = "Pd"
    metal_b: str = "Ni"
    rows: int = 18  # rows per block
    width: int = 100  # units per hidden layer
    depth: int = 5  # dense layers per network
    noise_dim: int = 100  # the noise baseline's input
    g_lr: float = 1e-4  # the generators'
    d_lr: float = 1e-4  # the discriminators'
    beta_1: float = 0.5
    beta_2: float = 0.999
    batch_size: int = 35
    epochs: int = 1000
    rec_weight: float = 1.0  # each reconstruction term; each adversarial term weighs 1
    geo1_weight: float = 30.0  # the geometric terms' (the paper leaves them open; 1 fails, see the benchmark)
    geo2_weight: float = 30.0
    geo_form: str = "hinge"  # hinge, or paper: the formulas as printed
    d1: float = 1.8  # Å
    d2: float = 3.0  # Å
    seed: int = 0
    strategy: str = "auto"

    RERUN_FREE = ("epochs", "strategy", "jit_compile")

    @property
    def layout(self):
        from ..structure.blocks import BlockLayout

        return BlockLayout(self.metal_a, self.metal_b, self.rows)
