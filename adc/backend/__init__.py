"""SSA IR to Python source, and that source to numba-compiled kernels."""
