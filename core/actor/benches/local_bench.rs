//! Local benchmark: tell throughput, ping-pong latency, spawn/stop, memory per idle actor.
fn main() {}
