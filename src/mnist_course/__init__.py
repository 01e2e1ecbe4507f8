"""Helpers for the MNIST Course: data in memory, the training loop, fair comparisons, plots.

Notebooks write the teaching code themselves and call this package for the plumbing.
"""

from . import checks
from .colab import restart_needed, warn_if_restart_needed
from .data import (
    FILES,
    MNIST_MEAN,
    MNIST_STD,
    DataError,
    MNISTSplits,
    Normalize,
    RandomAffine,
    batches,
    cache_dir,
    find_mnist,
    load_mnist,
    normalize,
    random_affine,
    split_indices,
)
from .experiments import (
    Comparison,
    compare,
    final_epoch,
    paired_differences,
    read_runs,
    set_seed,
    summarize,
)
from .export import (
    ExportError,
    check_onnx,
    describe_file,
    export_onnx,
    load_model,
    models_dir,
    save_model,
)
from .inspection import count_parameters, multiply_adds, receptive_field_table, summary
from .plots import (
    confusion_matrix,
    most_confident_mistakes,
    plot_confusion,
    plot_failures,
    plot_history,
    plot_paired,
    show_digits,
)
from .record import chosen, install_recorder
from .seeds import seed, seed_offset, seeds
from .train import (
    QUICK,
    default_device,
    environment_info,
    evaluate,
    fit,
    model_device,
    predict,
    synchronize,
    time_ms,
)

__all__ = [
    "FILES",
    "MNIST_MEAN",
    "MNIST_STD",
    "QUICK",
    "Comparison",
    "DataError",
    "ExportError",
    "MNISTSplits",
    "Normalize",
    "RandomAffine",
    "batches",
    "cache_dir",
    "check_onnx",
    "checks",
    "chosen",
    "compare",
    "confusion_matrix",
    "count_parameters",
    "default_device",
    "describe_file",
    "environment_info",
    "evaluate",
    "export_onnx",
    "final_epoch",
    "find_mnist",
    "fit",
    "load_mnist",
    "load_model",
    "model_device",
    "models_dir",
    "most_confident_mistakes",
    "multiply_adds",
    "normalize",
    "paired_differences",
    "plot_confusion",
    "plot_failures",
    "plot_history",
    "plot_paired",
    "predict",
    "random_affine",
    "read_runs",
    "receptive_field_table",
    "restart_needed",
    "save_model",
    "seed",
    "seed_offset",
    "seeds",
    "set_seed",
    "show_digits",
    "split_indices",
    "summarize",
    "summary",
    "synchronize",
    "time_ms",
    "warn_if_restart_needed",
]
__version__ = "0.1.0"

# in a notebook: record displayed verdicts when MNIST_COURSE_RECORD is set (record.py)
install_recorder()
