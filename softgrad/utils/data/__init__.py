"""Data loading with PyTorch's names: ``Dataset``, ``TensorDataset``, ``DataLoader``, samplers."""
from softgrad.utils.data.dataloader import (DataLoader, default_collate, default_convert,
                                            get_worker_info)
from softgrad.utils.data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset,
                                         StackDataset, Subset, TensorDataset, random_split)
from softgrad.utils.data.distributed import DistributedSampler
from softgrad.utils.data.sampler import (BatchSampler, RandomSampler, Sampler,
                                         SequentialSampler, SubsetRandomSampler,
                                         WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "default_collate", "default_convert", "get_worker_info",
           "random_split"]
