#!/usr/bin/env bash
# Stands in for .devpack/sattn-cuda-backend-tests in gpu-suite.test: passes,
# or fails one case when $FAKE_FAIL is set; says which filter it was given.
echo "fake args: $*"
echo "[       OK ] Fake.Passes (1 ms)"
if [[ -n "${FAKE_FAIL:-}" ]]; then
  echo "[  FAILED  ] Fake.Fails (1 ms)"
  exit 1
fi
exit 0
