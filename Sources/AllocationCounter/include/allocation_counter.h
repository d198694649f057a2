// Counts heap allocation calls (malloc, calloc, realloc, the aligned variants) made anywhere in the
// process, so tests and benchmarks can prove that a warmed-up step allocates nothing.
//
// On Linux with glibc the target defines the malloc family itself, forwarding to glibc's
// __libc_* entry points; a definition in the executable interposes libc's for every library.
// Elsewhere (and under sanitizers, which interpose malloc themselves) nothing is interposed and
// vk_alloc_counter_supported() returns 0.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when allocations are counted in this build, 0 when the counter is a no-op.
int vk_alloc_counter_supported(void);

/// Zeroes the count and starts counting allocation calls from all threads (frees are not counted).
void vk_alloc_counting_begin(void);

/// Stops counting and returns the number of allocation calls since vk_alloc_counting_begin().
uint64_t vk_alloc_counting_end(void);

/// Called once for every counted allocation: break on it in a debugger to see where they come from
/// (gdb: `break vk_alloc_counted`, then `bt`).
void vk_alloc_counted(void);

#ifdef __cplusplus
}
#endif

#endif
