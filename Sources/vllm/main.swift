print("vllm: under construction")
