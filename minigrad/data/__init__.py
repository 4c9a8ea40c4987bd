"""Datasets (with checksums), seeded splits, batch augmentations and the DataLoader."""
from . import transforms  # noqa: F401
from .cifar import CIFAR10  # noqa: F401
from .datasets import Dataset, Subset, SubsetRandomSampler, random_split  # noqa: F401
from .files import DatasetError, data_root  # noqa: F401
from .loader import DataLoader, TensorDataset, default_collate  # noqa: F401
from ..distributed.sampler import DistributedSampler  # noqa: F401  (PyTorch: torch.utils.data.distributed)
from .mnist import MNIST, FashionMNIST  # noqa: F401
from .names import Names  # noqa: F401
from .split import nested_subsets, train_val_split  # noqa: F401
