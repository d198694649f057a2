// CUDA backend: loads libvllm_cuda.so at run time
