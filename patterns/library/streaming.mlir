// StreamingLLM-style attention: attention sinks plus a sliding token window.
sattn.pattern @streaming(sink = 64, window = 1024) block = 128 causal {
  sattn.sink #sattn.param<"sink">
  sattn.window #sattn.param<"window"> tokens
}
