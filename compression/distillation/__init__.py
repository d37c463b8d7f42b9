"""Knowledge distillation (Hinton, Vinyals & Dean 2015): datasets, models, the KD loss, the trainer,
a shared job manager and a run store. Never imports streamlit."""

from compression.distillation.losses import kd_loss
from compression.distillation.trainer import DEFAULT_CONFIG, TrainConfig, TrainResult, train, validate_config

__all__ = ["DEFAULT_CONFIG", "TrainConfig", "TrainResult", "kd_loss", "train", "validate_config"]
