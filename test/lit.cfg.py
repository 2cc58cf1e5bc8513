# -*- Python -*-
# Lit configuration of the sattn test suite.

import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "sattn"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".sattn", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "spec", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sattn_obj_root, "test")

llvm_config.use_default_substitutions()
config.substitutions.append(("%sattn_src", config.sattn_src_root))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%sattn_tools_dir", config.sattn_tools_dir))

tool_dirs = [config.sattn_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["sattn-opt", "sattn-compile", "sattn-run", "sattn-bench"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.sattn_tools_dir, append_path=True)

# GPU code is checked as PTX everywhere; ptxas assembles it where a CUDA
# toolkit is installed (its absence makes those RUN lines unsupported).
for root in [os.environ.get("SATTN_CUDA_ROOT", ""), "/usr/local/cuda"]:
    if root and os.access(os.path.join(root, "bin", "ptxas"), os.X_OK):
        config.available_features.add("ptxas")
        break
