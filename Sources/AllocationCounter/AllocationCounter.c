#include "allocation_counter.h"
#include "vk_kernels.h"
#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ on glibc (musl has no __libc_* entry points)
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define VK_ALLOC_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VK_ALLOC_SANITIZED 1
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(VK_ALLOC_SANITIZED)

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

// glibc's own allocator, exported under these names so replacements can forward to it.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

// Only the threads that called vk_alloc_counting_begin() count: other threads of the process (an
// event loop's timer, a runtime worker finishing an earlier test's task) allocate at moments of
// their own. `counting_threads` keeps the check off the thread-local variables while nobody counts.
static atomic_int counting_threads;
static _Thread_local int counting_here __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t allocations_here __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t worker_growths_at_begin __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) void vk_alloc_counted(void) {
    allocations_here += 1;
    __asm__ volatile("" ::: "memory");  // keeps the call (and so the breakpoint) from being folded away
}

// Disabled cost: one relaxed load and a branch predicted not-taken.
static inline void note_allocation(void) {
    if (__builtin_expect(atomic_load_explicit(&counting_threads, memory_order_relaxed), 0) && counting_here)
        vk_alloc_counted();
}

void *malloc(size_t size) {
    note_allocation();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    note_allocation();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    note_allocation();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    note_allocation();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    note_allocation();
    // As glibc's own aligned_alloc: the alignment must be a power of two.
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    note_allocation();
    // POSIX: a power of two that is a multiple of sizeof(void *); *result is untouched on failure.
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    note_allocation();
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    note_allocation();
    return __libc_pvalloc(size);
}

int vk_alloc_counter_supported(void) { return 1; }

void vk_alloc_counting_begin(void) {
    allocations_here = 0;
    worker_growths_at_begin = vk_pool_worker_scratch_growths();
    if (!counting_here) {
        counting_here = 1;
        atomic_fetch_add_explicit(&counting_threads, 1, memory_order_seq_cst);
    }
}

uint64_t vk_alloc_counting_end(void) {
    if (counting_here) {
        counting_here = 0;
        atomic_fetch_sub_explicit(&counting_threads, 1, memory_order_seq_cst);
    }
    return allocations_here + (vk_pool_worker_scratch_growths() - worker_growths_at_begin);
}

#else

int vk_alloc_counter_supported(void) { return 0; }
void vk_alloc_counted(void) {}
void vk_alloc_counting_begin(void) {}
uint64_t vk_alloc_counting_end(void) { return 0; }

#endif
