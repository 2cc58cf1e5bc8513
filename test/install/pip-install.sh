#!/usr/bin/env bash
# pip-install.sh PYTHON BUILD_DIR SOURCE_DIR WORK_DIR
#
# The Python package as a user installs it: a virtual environment, the build
# installed into it (cmake --install), `pip install ./python`, then, from
# another folder and without SATTN_LIBRARY, `import sattn` runs a pattern.
# Exits 77 (skipped) when this python3 cannot make a virtual environment.
set -euo pipefail
python=$1 build=$2 source=$3 work=$4
if ! "$python" -c "import venv, ensurepip" 2>/dev/null; then
  echo "SKIPPED: $python cannot make a virtual environment (python3-venv)"
  exit 77
fi
rm -rf "$work"
"$python" -m venv --system-site-packages "$work/venv"
cmake --install "$build" --prefix "$work/venv" >/dev/null
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index \
  "$source/python"
cd "$work"
env -u SATTN_LIBRARY -u PYTHONPATH "$work/venv/bin/python" - <<'PY'
import numpy as np
import sattn
assert sattn.library_path().startswith(sattn.__file__.split("/lib/")[0]), \
    sattn.library_path()
q = np.random.default_rng(0).standard_normal((1, 2, 64, 32), np.float32)
out = sattn.attention(q, q, q, "power")
ref = sattn.reference(q, q, q, "power")
assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()
print(f"sattn {sattn.version()} from {sattn.library_path()}: ok")
PY
rm -rf "$work"
