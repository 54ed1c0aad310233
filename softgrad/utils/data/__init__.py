"""Data loading with PyTorch's names: ``Dataset``, ``TensorDataset``, ``DataLoader``, samplers."""
from softgrad.utils.data.dataloader import DataLoader, default_collate, default_convert
from softgrad.utils.data.dataset import (ConcatDataset, Dataset, IterableDataset, Subset,
                                         TensorDataset, random_split)
from softgrad.utils.data.distributed import DistributedSampler
from softgrad.utils.data.sampler import (BatchSampler, RandomSampler, Sampler,
                                         SequentialSampler, SubsetRandomSampler,
                                         WeightedRandomSampler)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
           "random_split"]
