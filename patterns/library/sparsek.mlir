// SparseK attention (seed sparsek-attention): a sliding window plus the k
// highest-scoring earlier keys, scored by a per-key score given at run time
// (the output of SparseK's scoring network).
// Differs from the paper: the soft gate clip(u - tau, 0, 1) is a training-time
// device and is not applied; selection is a hard top-k.
sattn.pattern @sparsek(k = 2048, window = 1024) block = 128 causal {
  sattn.window #sattn.param<"window"> tokens
  sattn.topk k = #sattn.param<"k"> tokens by key_score
}
