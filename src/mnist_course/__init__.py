"""Helpers for the MNIST Course: data in memory, the training loop, fair comparisons, plots.

Notebooks write the teaching code themselves and call this package for the plumbing.
"""

from .data import (
    FILES, MNIST_MEAN, MNIST_STD, DataError, MNISTSplits, Normalize, RandomAffine, batches, cache_dir,
    find_mnist, load_mnist, normalize, random_affine, split_indices,
)
from .export import ExportError, check_onnx, describe_file, export_onnx, load_model, models_dir, save_model
from .experiments import Comparison, compare, set_seed, summarize
from .inspection import count_parameters, receptive_field_table, summary
from .plots import (
    confusion_matrix, most_confident_mistakes, plot_confusion, plot_failures, plot_history, show_digits,
)
from .train import QUICK, default_device, evaluate, fit, model_device, predict

__all__ = [
    "FILES", "MNIST_MEAN", "MNIST_STD", "QUICK", "Comparison", "DataError", "MNISTSplits", "Normalize",
    "RandomAffine", "batches", "cache_dir", "compare",
    "ExportError", "check_onnx", "describe_file", "export_onnx", "load_model", "models_dir", "save_model", "confusion_matrix", "count_parameters",
    "default_device", "evaluate", "find_mnist", "fit", "load_mnist", "model_device", "most_confident_mistakes",
    "normalize", "plot_confusion", "plot_failures", "plot_history", "predict", "random_affine",
    "receptive_field_table", "set_seed", "show_digits", "split_indices", "summarize", "summary",
]
__version__ = "0.1.0"
