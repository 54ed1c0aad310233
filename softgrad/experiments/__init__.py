"""The seed experiments, as plain functions returning results.

1. :func:`run_output_loss`: softmax + cross-entropy vs sigmoid + BCE vs sigmoid + squared
   error vs softmax + squared error, same network, initialisation and batches.
2. :func:`run_activation` / :func:`run_depth`: sigmoid, tanh, ReLU, LeakyReLU in the 30-50-2
   network and in deeper ones, with per-layer gradient norms (vanishing gradients).
3. :func:`run_jacobian`: autograd's softmax Jacobian next to ``diag(f) - f fᵀ`` and the
   gradient at the logits next to ``(p - y)/l``.

:func:`run_experiments` runs them all and writes a table, CSV/JSON logs and PNG plots (what
``softgrad experiments`` does); :func:`train` is ``softgrad train`` (checkpoints, resume) and
:mod:`~softgrad.experiments.zoo` holds the example models (LeNet, 1-D CNN, GRU, Transformer
encoder). Plots need matplotlib, progress bars tqdm, MNIST-1D the mnist1d package (the
``experiments`` extra); each is imported only when used. breast_cancer and digits ship with
softgrad.
"""
from softgrad.experiments.activation import gradient_ratio, run_activation, run_depth
from softgrad.experiments.data import DATASETS, load_dataset, make_sequence_task, mnist_available
from softgrad.experiments.example_models import run_example_models
from softgrad.experiments.jacobian import JacobianView, run_jacobian
from softgrad.experiments.models import ACTIVATIONS, MODELS, build_model, mlp
from softgrad.experiments.output_loss import VARIANTS, run_output_loss
from softgrad.experiments.results import EpochLog, RunResult, epochs_to_fraction
from softgrad.experiments.runner import EXPERIMENTS, ExperimentsReport, run_experiments
from softgrad.experiments.train import RECIPES, TrainConfig, TrainResult, recipe, train
from softgrad.experiments.trainer import FitConfig, accuracy, fit, make_optimizer
from softgrad.experiments.zoo import CNN1d, GRUClassifier, LeNet, TransformerClassifier

__all__ = ["ACTIVATIONS", "CNN1d", "DATASETS", "EXPERIMENTS", "EpochLog", "ExperimentsReport",
           "FitConfig", "GRUClassifier", "JacobianView", "LeNet", "MODELS", "RECIPES",
           "RunResult", "TrainConfig", "TrainResult", "TransformerClassifier", "VARIANTS",
           "accuracy", "build_model", "epochs_to_fraction", "fit", "gradient_ratio",
           "load_dataset", "make_optimizer", "make_sequence_task", "mlp", "mnist_available",
           "recipe", "run_activation", "run_depth", "run_example_models", "run_experiments",
           "run_jacobian", "run_output_loss", "train"]
