import sys
sys.path.insert(0, "/work/main/test/spec")
from spec_masks import write_i32
# two batch entries of 2048 tokens: documents of 300, 700, 1048 tokens; then 4 of 512
b0 = [0] * 300 + [1] * 700 + [2] * 1048
b1 = [d for d in range(4) for _ in range(512)]
write_i32("doc.npy", (2, 2048), b0 + b1)
