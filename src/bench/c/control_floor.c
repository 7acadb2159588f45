// The floor of a control path between processes on this host, with no socket and no work: what a shared-memory
// request ring between clients and the master could reach at best (DESIGN section 9, issue 20, twelfth round).
//
// CLIENTS client processes each post a request word in a shared page and wait for its answer; one server thread
// answers every slot, sleeping on a doorbell futex when none is pending. A waiting client spins SPIN pauses before
// it sleeps on its answer word's futex, so SPIN 0 measures a wake-up per message each way, and a large SPIN what
// is left once nobody sleeps. It also times a 64 KiB memcpy, the copy a put of that size adds on the client.
//
// Build and run:  gcc -O2 -o /tmp/control_floor src/bench/c/control_floor.c && /tmp/control_floor 4 100000 2000
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16

// One client's request and answer, on a cache line of its own.
typedef struct {
    _Atomic int request;
    _Atomic int answer;
    _Atomic int sleeping;
    char pad[52];
} slot_t;

typedef struct {
    _Atomic int doorbell;
    _Atomic int server_sleeping;
    char pad[56];
    slot_t slots[MAX_CLIENTS];
} shared_t;

static long futex(_Atomic int *word, int op, int value) {
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(int who) {
    struct rusage r;
    getrusage(who, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void client(shared_t *shared, slot_t *slot, long messages, int spin) {
    for (int i = 1; i <= messages; i++) {
        atomic_store(&slot->request, i);
        if (atomic_load(&shared->server_sleeping)) {
            atomic_fetch_add(&shared->doorbell, 1);
            futex(&shared->doorbell, FUTEX_WAKE, 1);
        }
        for (int spun = 0; atomic_load(&slot->answer) != i;) {
            if (spun++ < spin) {
                __builtin_ia32_pause();
                continue;
            }
            atomic_store(&slot->sleeping, 1);
            int seen = atomic_load(&slot->answer); // read once: the futex sleeps only while it still holds this
            if (seen != i) {
                futex(&slot->answer, FUTEX_WAIT, seen);
            }
            atomic_store(&slot->sleeping, 0);
        }
    }
}

static long serve(shared_t *shared, int clients, long messages) {
    int last[MAX_CLIENTS] = {0};
    long served = 0;
    while (served < messages) {
        int answered = 0;
        for (int c = 0; c < clients; c++) {
            slot_t *slot = &shared->slots[c];
            int request = atomic_load(&slot->request);
            if (request != last[c]) {
                last[c] = request;
                answered = 1;
                served++;
                atomic_store(&slot->answer, request);
                if (atomic_load(&slot->sleeping)) {
                    futex(&slot->answer, FUTEX_WAKE, 1);
                }
            }
        }
        if (!answered) {
            int bell = atomic_load(&shared->doorbell);
            atomic_store(&shared->server_sleeping, 1);
            int pending = 0; // checked after saying so: a client that posts now sees it and rings
            for (int c = 0; c < clients; c++) {
                pending |= atomic_load(&shared->slots[c].request) != last[c];
            }
            if (!pending) {
                futex(&shared->doorbell, FUTEX_WAIT, bell);
            }
            atomic_store(&shared->server_sleeping, 0);
        }
    }
    return served;
}

static double memcpy_us(size_t size) {
    int slots = 512; // 32 MiB each way: not all in cache, as a pool's memory is not
    char *from = aligned_alloc(4096, size * slots);
    char *to = aligned_alloc(4096, size * slots);
    memset(from, 1, size * slots);
    memset(to, 2, size * slots);
    long copies = 100000;
    double start = seconds(CLOCK_MONOTONIC);
    for (long i = 0; i < copies; i++) {
        memcpy(to + (i * 7 % slots) * size, from + (i % slots) * size, size);
    }
    double us = (seconds(CLOCK_MONOTONIC) - start) * 1e6 / copies;
    volatile char keep = to[size];
    (void) keep;
    free(from);
    free(to);
    return us;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CLIENTS MESSAGES_PER_CLIENT [SPIN]\n", argv[0]);
        return 2;
    }
    int clients = atoi(argv[1]);
    long messages = atol(argv[2]);
    int spin = argc > 3 ? atoi(argv[3]) : 0;
    if (clients < 1 || clients > MAX_CLIENTS || messages < 1 || messages > 1 << 30) {
        fprintf(stderr, "CLIENTS is 1 to %d, MESSAGES_PER_CLIENT 1 to 2^30\n", MAX_CLIENTS);
        return 2;
    }
    printf("64KiB memcpy: %.2f us\n", memcpy_us(64 << 10));
    shared_t *shared = mmap(NULL, sizeof(shared_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(shared, 0, sizeof *shared);
    for (int c = 0; c < clients; c++) {
        if (fork() == 0) {
            client(shared, &shared->slots[c], messages, spin);
            _exit(0);
        }
    }
    double start = seconds(CLOCK_MONOTONIC);
    double cpu = cpu_seconds(RUSAGE_SELF);
    long served = serve(shared, clients, clients * messages);
    double elapsed = seconds(CLOCK_MONOTONIC) - start;
    cpu = cpu_seconds(RUSAGE_SELF) - cpu;
    while (wait(NULL) > 0) {
    }
    printf("clients=%d spin=%d round-trips/s=%.0f server-cpu-us/rt=%.2f clients-cpu-us/rt=%.2f\n",
           clients, spin, served / elapsed, cpu * 1e6 / served, cpu_seconds(RUSAGE_CHILDREN) * 1e6 / served);
    return 0;
}
