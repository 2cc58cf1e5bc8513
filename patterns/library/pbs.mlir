// PBS-Attn (seed pbs-attention): keys are sorted by importance within each
// segment so that important keys cluster into few blocks; blocks of earlier
// segments are kept by pooled q·k cover, plus the query's own segment and the
// block holding key 0.
// Differs from the paper: importance uses the last `probe` query rows.
sattn.pattern @pbs(segment = 256, probe = 128, block = 128, alpha = 0.9)
    block = #sattn.param<"block"> causal {
  sattn.permute segment = #sattn.param<"segment">,
      probe = #sattn.param<"probe">, block = #sattn.param<"block">,
      cover = #sattn.param<"alpha">
}
