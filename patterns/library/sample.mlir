// SampleAttention (seed sample-attention), v3 form: sampled query rows score
// key-block columns and block diagonals; the cover prefix of each is kept,
// plus a local window of max(B, round(window_frac * Sk)) tokens.
// Differs from the paper: rows are sampled from the end of each of `segments`
// query segments (not at random), so results are deterministic.
sattn.pattern @sample(block = 128, segments = 8, rows = 64, alpha = 0.95,
                      window_frac = 0.05)
    block = #sattn.param<"block"> causal {
  sattn.stripes segments = #sattn.param<"segments">,
      rows = #sattn.param<"rows">, cover = #sattn.param<"alpha">,
      window_frac = #sattn.param<"window_frac">
}
