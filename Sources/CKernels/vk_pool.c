// Persistent worker pool, run-time ISA selection and per-thread scratch arenas.
//
// Workers spin for a short while after each task (kernels of one forward pass arrive microseconds
// apart), then sleep on a condition variable so that idle workers leave the shared cores alone.
#define _GNU_SOURCE // clock_gettime, posix_memalign, sched_yield under strict -std=c11
#include "vk_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#define VK_MAX_THREADS 256
#define VK_SPIN_NS 100000 // how long an idle worker spins before it sleeps

// A parallel section hands out [begin, end) chunks of `n` items through one atomic counter. The
// caller always works; a worker joins only while the section is open, so a descheduled worker
// (the cores are often oversubscribed) never holds the caller up: the others take its chunks.
static struct {
    pthread_mutex_t call_mu;  // serialises parallel sections and resizes
    pthread_mutex_t sleep_mu; // guards the condition variable
    pthread_cond_t wake_cv;
    _Atomic uint64_t generation; // bumped once per parallel section
    _Atomic int open;            // workers may still join the current section
    _Atomic int active;          // workers inside (or deciding to enter) the current section
    _Atomic int sleepers;
    _Atomic int stop;
    _Atomic int64_t next;        // first item not yet handed out
    vk_range_fn fn;
    void *ctx;
    int64_t n, grain;
    int nth;
    int size; // threads including the caller
    pthread_t workers[VK_MAX_THREADS];
} pool = {
    .call_mu = PTHREAD_MUTEX_INITIALIZER,
    .sleep_mu = PTHREAD_MUTEX_INITIALIZER,
    .wake_cv = PTHREAD_COND_INITIALIZER,
    .size = 1,
};

static _Thread_local bool in_worker; // set in pool workers and while a caller runs its share
static _Thread_local bool is_pool_worker;
static _Atomic uint64_t worker_scratch_growths;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static vk_isa detected_isa = VK_ISA_SCALAR;
static _Atomic int active_isa = VK_ISA_SCALAR;

static inline void cpu_relax(void) {
#if VK_X86
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// `generation` is sampled by the creator: a section (or stop) issued before the thread first runs
// must still be seen as new.
typedef struct { int index; uint64_t generation; } worker_arg;
static worker_arg worker_args[VK_MAX_THREADS];

static void run_chunks(void) {
    for (;;) {
        int64_t b = atomic_fetch_add_explicit(&pool.next, pool.grain, memory_order_relaxed);
        if (b >= pool.n) return;
        pool.fn(pool.ctx, b, b + pool.grain < pool.n ? b + pool.grain : pool.n);
    }
}

static void *worker_main(void *p) {
    int index = ((worker_arg *)p)->index;
    uint64_t seen = ((worker_arg *)p)->generation;
    in_worker = true;
    is_pool_worker = true;
    for (;;) {
        uint64_t g = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (g == seen) {
            uint64_t start = now_ns();
            for (int spins = 0; g == seen; spins++) {
                cpu_relax();
                g = atomic_load_explicit(&pool.generation, memory_order_acquire);
                if ((spins & 255) == 255 && now_ns() - start > VK_SPIN_NS) break;
            }
        }
        if (g == seen) {
            pthread_mutex_lock(&pool.sleep_mu);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake_cv, &pool.sleep_mu);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_mu);
        }
        seen = g;
        if (atomic_load(&pool.stop)) return NULL;
        // Announce first, then look: the caller closes the section before waiting for active == 0,
        // so a worker that sees it open may safely read the section's fields.
        atomic_fetch_add(&pool.active, 1);
        if (atomic_load(&pool.open) && atomic_load(&pool.generation) == g && index < pool.nth) run_chunks();
        atomic_fetch_sub(&pool.active, 1);
    }
}

static void wake_workers(void) {
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_mu);
        pthread_cond_broadcast(&pool.wake_cv);
        pthread_mutex_unlock(&pool.sleep_mu);
    }
}

static void stop_workers_locked(void) {
    if (pool.size <= 1) return;
    atomic_store(&pool.stop, 1);
    atomic_fetch_add(&pool.generation, 1);
    pthread_mutex_lock(&pool.sleep_mu);
    pthread_cond_broadcast(&pool.wake_cv);
    pthread_mutex_unlock(&pool.sleep_mu);
    for (int i = 1; i < pool.size; i++) pthread_join(pool.workers[i], NULL);
    atomic_store(&pool.stop, 0);
    pool.size = 1;
}

static void start_workers_locked(int n) {
    pool.size = 1;
    for (int i = 1; i < n; i++) {
        worker_args[i].index = i;
        worker_args[i].generation = atomic_load(&pool.generation);
        if (pthread_create(&pool.workers[i], NULL, worker_main, &worker_args[i]) != 0) break;
        pool.size = i + 1;
    }
}

static void detect_isa(void) {
#if VK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        detected_isa = VK_ISA_AVX2;
    // An AVX-512 table is not built yet; such CPUs run the AVX2 kernels.
#endif
    atomic_store(&active_isa, detected_isa);
}

static int online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > VK_MAX_THREADS ? VK_MAX_THREADS : (int)n);
}

static void default_init(void) {
    detect_isa();
    pthread_mutex_lock(&pool.call_mu);
    start_workers_locked(online_cores());
    pthread_mutex_unlock(&pool.call_mu);
}

void vk_ensure_init(void) { pthread_once(&init_once, default_init); }

void vk_init(int num_threads) {
    vk_ensure_init();
    int n = num_threads <= 0 ? online_cores() : (num_threads > VK_MAX_THREADS ? VK_MAX_THREADS : num_threads);
    pthread_mutex_lock(&pool.call_mu);
    if (n != pool.size) {
        stop_workers_locked();
        start_workers_locked(n);
    }
    pthread_mutex_unlock(&pool.call_mu);
}

int vk_num_threads(void) {
    vk_ensure_init();
    return pool.size;
}

vk_isa vk_active_isa(void) {
    vk_ensure_init();
    return (vk_isa)atomic_load(&active_isa);
}

vk_isa vk_force_isa(vk_isa isa) {
    vk_ensure_init();
    vk_isa chosen = isa > detected_isa ? detected_isa : (isa < VK_ISA_SCALAR ? VK_ISA_SCALAR : isa);
    atomic_store(&active_isa, chosen);
    return chosen;
}

const char *vk_isa_name(vk_isa isa) {
    switch (isa) {
    case VK_ISA_SCALAR: return "scalar";
    case VK_ISA_AVX2: return "avx2";
    case VK_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

const vk_kernel_table *vk_kt(void) {
    vk_ensure_init();
#if VK_X86
    if (atomic_load_explicit(&active_isa, memory_order_relaxed) >= VK_ISA_AVX2) return &vk_kernels_avx2;
#endif
    return &vk_kernels_scalar;
}

int vk_threads_for_work(double work) {
    vk_ensure_init();
    // Waking a worker costs ~a few microseconds; below ~32k units it is not worth it.
    int n = (int)(work / 32768.0);
    if (n < 1) n = 1;
    return n > pool.size ? pool.size : n;
}

void vk_parallel_for(int64_t n, int64_t grain, int nth, vk_range_fn fn, void *ctx) {
    if (n <= 0) return;
    vk_ensure_init();
    if (grain < 1) grain = 1;
    if (nth <= 1 || in_worker || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.call_mu);
    if (pool.size <= 1) {
        pthread_mutex_unlock(&pool.call_mu);
        fn(ctx, 0, n);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.nth = nth;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.open, 1);
    atomic_fetch_add(&pool.generation, 1); // seq_cst: pairs with the sleeper count check below
    wake_workers();
    in_worker = true;
    run_chunks();
    in_worker = false;
    atomic_store(&pool.open, 0);
    for (int spins = 0; atomic_load(&pool.active) > 0; spins++) {
        if (spins < 4000) cpu_relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.call_mu);
}

// ---- scratch ---------------------------------------------------------------------------------
typedef struct { void *ptr; size_t cap; } arena;
static _Thread_local arena arenas[VK_SCRATCH_SLOTS];

void *vk_scratch(int slot, size_t bytes) {
    arena *a = &arenas[slot];
    if (bytes > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < bytes) cap *= 2;
        free(a->ptr);
        a->ptr = NULL;
        a->cap = 0;
        if (is_pool_worker) atomic_fetch_add_explicit(&worker_scratch_growths, 1, memory_order_relaxed);
        if (posix_memalign(&a->ptr, 64, cap) != 0) return NULL;
        a->cap = cap;
    }
    return a->ptr;
}

// The caller's vk_parallel_for returns only after every worker has left the section, so a growth
// made for the caller's work is visible here by then.
uint64_t vk_pool_worker_scratch_growths(void) {
    return atomic_load_explicit(&worker_scratch_growths, memory_order_relaxed);
}
