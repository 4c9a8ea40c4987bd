"""The shared training harness: Trainer (fit with checkpoints), evaluate, accuracy, plots."""
from .checkpoint import CheckpointError, load as load_checkpoint, save_atomically  # noqa: F401
from .cli import run_cli  # noqa: F401
from .interrupt import finishing_the_step_on_ctrl_c  # noqa: F401
from .loop import ResumeError, Trainer, accuracy, evaluate, save_history  # noqa: F401
from .plots import confusion_matrix, plot_confusion_matrix, plot_curves, plot_history  # noqa: F401
