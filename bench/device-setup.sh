# Sourced on the GPU machine (see bench/make-devpack.sh): unpacks the
# MLIR/LLVM runtime libraries carried in .devlibs/ and the stripped binaries
# carried in .devpack/, and points the loader and PATH at them.
for f in .devlibs/*.deb; do dpkg -x "$f" /opt/deps; done
if [[ -f .devpack/sattn-bin.tar.xz ]]; then
  tar -C .devpack -xJf .devpack/sattn-bin.tar.xz
fi
export LD_LIBRARY_PATH=/opt/deps/usr/lib/llvm-22/lib:/opt/deps/usr/lib/x86_64-linux-gnu:$PWD/.devpack
export SATTN_SOURCE_DIR=$PWD
# The tools the Python tests call (python/tests/test_patterns.py).
export SATTN_TOOLS_DIR=$PWD/.devpack
# The Python package (python/sattn) loads the carried library.
if [[ -f .devpack/libsattn.so ]]; then
  export SATTN_LIBRARY=$PWD/.devpack/libsattn.so
fi
export PATH=/usr/local/cuda/bin:$PATH
