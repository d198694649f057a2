// Counts the heap allocation calls (malloc, calloc, realloc, the aligned variants) that one thread
// makes, plus the kernel pool's workers' scratch growths (the only allocations the pool makes for
// it), so tests and benchmarks can prove that a warmed-up step allocates nothing. Other threads of
// the process are not counted: their allocations come at moments of their own and made such
// proofs fail at random.
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

/// Zeroes this thread's count and starts counting its allocation calls (frees are not counted).
/// Several threads may count at once, each its own calls; the pool's scratch growths are counted
/// by every thread counting while they happen.
void vk_alloc_counting_begin(void);

/// Stops counting on this thread and returns its allocation calls since vk_alloc_counting_begin(),
/// plus the kernel pool workers' scratch growths in that time.
uint64_t vk_alloc_counting_end(void);

/// Called once for every counted allocation: break on it in a debugger to see where they come from
/// (gdb: `break vk_alloc_counted`, then `bt`).
void vk_alloc_counted(void);

#ifdef __cplusplus
}
#endif

#endif
