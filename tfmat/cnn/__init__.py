"""CNN property screening: the thesis protocol, prediction and SavedModel export."""
from .config import ARCHITECTURES, ATTRIBUTES, DEFAULT_ARCH, SOURCES, TABLE_4_2, CNNConfig, model_name
from .export import export_model, serving_model
from .model_dir import read_model_dir, resolve_model, save_model_dir
from .predict import Predictor
from .train import (Split, build_model, ensemble_scores, load_features, make_splits, run_training, score_holdout,
                    set_aside, train_member)

__all__ = ["ARCHITECTURES", "ATTRIBUTES", "DEFAULT_ARCH", "SOURCES", "TABLE_4_2", "CNNConfig", "model_name", "export_model",
           "serving_model", "read_model_dir", "resolve_model", "save_model_dir", "Predictor", "Split",
           "build_model", "set_aside", "load_features", "make_splits", "run_training", "train_member", "ensemble_scores", "score_holdout"]
