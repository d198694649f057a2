// Benchmarks module
