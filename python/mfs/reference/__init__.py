"""Pure-numpy reference implementations of every libmfs model: the independent
witness the C and CUDA code is tested against. Nothing here imports the native
library. Each module has fit(X, y, **params) -> dict of named arrays (the same
names the C model uses) and the model's methods taking that dict."""
