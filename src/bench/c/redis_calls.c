// Redis driven the way StoreBenchMain drives Crescent: N threads, each with one blocking connection, one call at a
// time, each call timed from before its request is written to after the last byte of its reply is read.
//
// Why beside redis-benchmark: redis-benchmark stops a call's clock at the first read event of its reply
// (readHandler in src/redis-benchmark.c, "Calculate latency only for the first read event"), so for a 1 MiB GET its
// p50/p99 leave out most of the reply's transfer, which Crescent's figures include. bin/bench takes Redis's
// throughput from whichever client is faster and prints both clients' p99.
//
//   redis_calls <port> <set|get> <value bytes> <threads> <seconds> <keys>
// prints one line: calls/s p50-us p99-us (after a warm-up of a second; get fills its keys first).
// Keys are key:<n>, n < keys, chosen at random per call; SET overwrites.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int port, size, keys, get_phase;
static double seconds;
static atomic_int phase; // 0 warm-up, 1 measured, 2 stop

typedef struct {
    pthread_t thread;
    unsigned seed;
    long count, capacity;
    uint32_t *nanos_by_call; // latencies of measured calls, in ns (a call over 4 s is clamped)
    char *value, *reply;
} worker;

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int connected(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) fail("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

static void send_all(int fd, struct iovec *parts, int count) {
    while (count > 0) {
        ssize_t sent = writev(fd, parts, count);
        if (sent < 0) {
            if (errno == EINTR) continue;
            fail("writev");
        }
        while (count > 0 && (size_t)sent >= parts->iov_len) {
            sent -= parts->iov_len;
            parts++;
            count--;
        }
        if (count > 0) {
            parts->iov_base = (char *)parts->iov_base + sent;
            parts->iov_len -= sent;
        }
    }
}

// Reads one reply into w->reply: a status line (+OK) or a bulk string ($<n>\r\n<n bytes>\r\n), whole.
static void read_reply(int fd, worker *w) {
    long have = 0, want = -1, room = size + 64;
    while (want < 0 || have < want) {
        ssize_t got = recv(fd, w->reply + have, room - have, 0);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            fail("recv");
        }
        have += got;
        if (want < 0) {
            char *end = memchr(w->reply, '\n', have);
            if (end == NULL) continue;
            long line = end - w->reply + 1;
            if (w->reply[0] == '$') {
                long n = atol(w->reply + 1);
                want = line + (n < 0 ? 0 : n + 2);
            } else if (w->reply[0] == '+') {
                want = line;
            } else {
                fprintf(stderr, "unexpected reply: %.*s", (int)line, w->reply);
                exit(1);
            }
            if (want > room) {
                fprintf(stderr, "reply of %ld bytes\n", want);
                exit(1);
            }
        }
    }
}

static void call(int fd, worker *w, int set, int key) {
    char head[96], name[32];
    int name_length = snprintf(name, sizeof name, "key:%d", key);
    int head_length = set ? snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", name_length, name, size)
                          : snprintf(head, sizeof head, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", name_length, name);
    struct iovec parts[3] = {{head, head_length}, {w->value, size}, {"\r\n", 2}};
    if (set) send_all(fd, parts, 3);
    else send_all(fd, parts, 1);
    read_reply(fd, w);
}

static void *run(void *argument) {
    worker *w = argument;
    int fd = connected();
    while (atomic_load(&phase) < 2) {
        int measured = atomic_load(&phase) == 1;
        double start = now();
        call(fd, w, !get_phase, rand_r(&w->seed) % keys);
        if (!measured) continue;
        double nanos = (now() - start) * 1e9;
        if (w->count == w->capacity) {
            w->capacity = w->capacity ? w->capacity * 2 : 1 << 16;
            w->nanos_by_call = realloc(w->nanos_by_call, w->capacity * sizeof(uint32_t));
            if (w->nanos_by_call == NULL) fail("realloc");
        }
        w->nanos_by_call[w->count++] = nanos > 4e9 ? 4000000000u : (uint32_t)nanos;
    }
    close(fd);
    return NULL;
}

static int ascending(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s <port> <set|get> <value bytes> <threads> <seconds> <keys>\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    get_phase = strcmp(argv[2], "get") == 0;
    size = atoi(argv[3]);
    int threads = atoi(argv[4]);
    seconds = atof(argv[5]);
    keys = atoi(argv[6]);
    worker *workers = calloc(threads, sizeof(worker));
    for (int t = 0; t < threads; t++) {
        workers[t].seed = 17 + t;
        workers[t].value = malloc(size);
        workers[t].reply = malloc(size + 64);
        memset(workers[t].value, 'a' + t, size);
    }
    if (get_phase) { // every key holds a value of this size before gets start
        int fd = connected();
        for (int k = 0; k < keys; k++) call(fd, &workers[0], 1, k);
        close(fd);
    }
    for (int t = 0; t < threads; t++) pthread_create(&workers[t].thread, NULL, run, &workers[t]);
    sleep(1);
    atomic_store(&phase, 1);
    double start = now();
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&phase, 2);
    double elapsed = now() - start;
    long total = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        total += workers[t].count;
    }
    uint32_t *all = malloc((total ? total : 1) * sizeof(uint32_t));
    long at = 0;
    for (int t = 0; t < threads; t++) {
        memcpy(all + at, workers[t].nanos_by_call, workers[t].count * sizeof(uint32_t));
        at += workers[t].count;
    }
    qsort(all, total, sizeof(uint32_t), ascending);
    double p50 = total ? all[(long)(total * 0.50)] / 1e3 : 0, p99 = total ? all[(long)(total * 0.99)] / 1e3 : 0;
    printf("%.0f %.1f %.1f\n", total / elapsed, p50, p99);
    return 0;
}
