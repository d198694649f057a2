#include "vk_kernels.h"
