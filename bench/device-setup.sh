# Sourced on the GPU machine: unpacks the MLIR/LLVM runtime libraries carried
# in .devlibs/ (apt-get download libmlir-22 libllvm22 libz3-4) and points the
# loader at them and at the stripped binaries carried in .devpack/.
for f in .devlibs/*.deb; do dpkg -x "$f" /opt/deps; done
export LD_LIBRARY_PATH=/opt/deps/usr/lib/llvm-22/lib:/opt/deps/usr/lib/x86_64-linux-gnu:$PWD/.devpack
export SATTN_SOURCE_DIR=$PWD
export PATH=/usr/local/cuda/bin:$PATH
