"""Build of the compiled epoch kernel (metadata lives in pyproject.toml).

OpenMP runs the lanes of large dense batches in parallel threads (as in
scikit-learn's own extensions); GCC and Clang with libomp support it.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "skgd._fast",
                ["skgd/_fast.pyx"],
                depends=["skgd/_fast.pxd", "skgd/_vmath.h", "skgd/_dense.h"],
                # -fno-trapping-math: floating-point selects may compile to
                # SIMD blends (see _vmath.h); no computed value changes.
                extra_compile_args=["-O3", "-fopenmp", "-fno-trapping-math"],
                extra_link_args=["-fopenmp"],
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
