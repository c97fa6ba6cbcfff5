"""libmfs: machine-learning models from scratch (C11 + CUDA), as scikit-learn
style estimators with a numpy reference for each.

>>> import mfs
>>> mfs.LinearRegression().backend
'c'
"""
from ._native import (DeviceError, MfsError, ModelFormatError, cuda_device_count,
                      get_num_threads, memory_stats, reset_peak_memory, set_num_threads)
from ._native import lib as _lib, ffi as _ffi
from ._base import load, from_bytes
from .linear_model import LinearRegression, Ridge
from .cluster import KMeans
from .decomposition import PCA
from .linear_model import LogisticRegression
from .naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from .neighbors import KNeighborsClassifier, KNeighborsRegressor
from .tree import DecisionTreeClassifier, DecisionTreeRegressor
from .ensemble import RandomForestClassifier, RandomForestRegressor
from .svm import SVC, SVR, LinearSVC
from .neural_network import MLPClassifier, MLPRegressor
from .cnn import CNNClassifier, CNNRegressor

__version__ = _ffi.string(_lib.mfs_version()).decode()

__all__ = ["LinearRegression", "Ridge", "LogisticRegression", "KMeans", "PCA", "load", "from_bytes", "set_num_threads",
           "get_num_threads", "cuda_device_count", "memory_stats", "reset_peak_memory",
           "DeviceError", "MfsError", "ModelFormatError", "__version__"]
__all__ += ["KNeighborsClassifier", "KNeighborsRegressor"]
__all__ += ["GaussianNB", "MultinomialNB", "BernoulliNB"]
__all__ += ["DecisionTreeClassifier", "DecisionTreeRegressor", "RandomForestClassifier",
            "RandomForestRegressor", "SVC", "SVR", "LinearSVC"]
__all__ += ["MLPClassifier", "MLPRegressor", "CNNClassifier", "CNNRegressor"]
