// RUN: sattn-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{tile_q must be a power of two, got 48}}
#s = #sattn.schedule<tile_q = 48, chunk = 32, tiles = absolute, sources = [0], attention = "a">

// -----

// expected-error @+1 {{chunk must be >= 1, got 0}}
#s = #sattn.schedule<tile_q = 64, chunk = 0, tiles = absolute, sources = [0], attention = "a">

// -----

// expected-error @+1 {{sources must be distinct primitive indices >= 0, got 1}}
#s = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [1, 1], attention = "a">

// -----

// expected-error @+1 {{stage 's' computes primitive 2, which is not a key source}}
#s = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [0, 1], stages = [#sattn.stage<"s", primitive = 2, grid = heads, threads = 128>], attention = "a">

// -----

// expected-error @+1 {{function name 'a' is used twice}}
#s = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [0], stages = [#sattn.stage<"a", primitive = 0, grid = heads, threads = 128>], attention = "a">

// -----

// expected-error @+1 {{stage 's': a query_blocks grid needs query_block >= 1, other grids none; got 0}}
#s = #sattn.stage<"s", primitive = 0, grid = query_blocks, threads = 128>

// -----

// expected-error @+1 {{stage 's': threads must be >= 1, got 0}}
#s = #sattn.stage<"s", primitive = 0, grid = heads, threads = 0>

// -----

// expected-error @+1 {{stage 's': only a query_blocks grid has block alignment}}
#s = #sattn.stage<"s", primitive = 0, grid = heads, blocks = local, threads = 1>

// -----

// expected-error @+1 {{stage 's': split must be >= 1, got 0}}
#s = #sattn.stage<"s", primitive = 0, grid = heads, threads = 1, split = 0>

// -----

sattn.pattern @p() block = 64 causal {
  sattn.sink 8
}
// expected-error @+1 {{'sattn.kernel' op schedule names primitive 3, but the pattern has 1}}
sattn.kernel @p {heads = 2, kv_heads = 2, head_dim = 64, element_type = f32, target = #sattn.target<cpu>,
  schedule = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [3], attention = "a">}
