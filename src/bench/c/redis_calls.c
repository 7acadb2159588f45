// Redis driven the way StoreBenchMain drives Crescent: N threads, each with one blocking connection, one call at a
// time, each call timed from before its request is written to after the last byte of its reply is read.
//
// Why beside redis-benchmark: redis-benchmark stops a call's clock at the first read event of its reply
// (readHandler in src/redis-benchmark.c, "Calculate latency only for the first read event"), so for a 1 MiB GET or
// a 128-key MGET its p50/p99 leave out most of the reply's transfer, which Crescent's figures include; and its one
// event-loop thread is slower here than blocking threads. bin/bench takes Redis's throughput from whichever client is
// faster and prints both.
//
//   redis_calls <port> <phase> <value bytes> <threads> <seconds> <keys> [keys per batch]
// phases: put (SET), get (GET), exists (EXISTS of a batch of keys), batch-get (MGET of a batch), batch-put (a batch
// of SETs pipelined, sent at once; the call ends with the last reply). Keys are key:<n>, n < keys, chosen at random
// per key; SET overwrites; the reading phases fill every key first. Prints one line after a warm-up of a second:
// calls/s p50-us p99-us.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
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

enum { PUT, GET, EXISTS, BATCH_GET, BATCH_PUT };
enum { HEAD_BYTES = 96 }; // room for one command or key head: "$<length>\r\nkey:<n>\r\n" and the like
static const char *PHASES[] = {"put", "get", "exists", "batch-get", "batch-put"};
static int port, size, keys, batch = 128, kind;
static atomic_int stage; // 0 warm-up, 1 measured, 2 stop

// One thread's connection, its request parts and the buffer its replies are read into (a whole reply fits).
typedef struct {
    pthread_t thread;
    int fd;
    unsigned seed;
    long count, capacity;
    uint32_t *nanos_by_call; // latencies of measured calls, in ns (a call over 4 s is clamped)
    char *value;
    char *heads; // one request head per key of a call, HEAD_BYTES each
    struct iovec *parts;
    char *reply;
    long reply_capacity, have, at;
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
        ssize_t sent = writev(fd, parts, count < IOV_MAX ? count : IOV_MAX);
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

// ---- replies: read into the worker's buffer and walked in place ----

static void receive_more(worker *w) {
    if (w->have == w->reply_capacity) {
        fprintf(stderr, "a reply over %ld bytes\n", w->reply_capacity);
        exit(1);
    }
    ssize_t got = recv(w->fd, w->reply + w->have, w->reply_capacity - w->have, 0);
    if (got == 0) {
        fprintf(stderr, "Redis closed the connection mid-reply\n");
        exit(1);
    }
    if (got < 0) {
        if (errno == EINTR) return;
        fail("recv");
    }
    w->have += got;
}

/** The start of the next line; the walk moves past its \r\n. */
static long next_line(worker *w) {
    for (;;) {
        char *end = memchr(w->reply + w->at, '\n', w->have - w->at);
        if (end != NULL) {
            long start = w->at;
            w->at = end - w->reply + 1;
            return start;
        }
        receive_more(w);
    }
}

/** Walks past one whole reply: a status, an integer, a bulk string or an array of them. */
static void skip_reply(worker *w) {
    long line = next_line(w);
    long n = atol(w->reply + line + 1);
    switch (w->reply[line]) {
        case '+':
        case ':':
            return;
        case '$':
            if (n >= 0) {
                while (w->have - w->at < n + 2) receive_more(w);
                w->at += n + 2;
            }
            return;
        case '*':
            for (long i = 0; i < n; i++) skip_reply(w);
            return;
        default:
            fprintf(stderr, "unexpected reply: %.*s\n", (int)(w->at - line), w->reply + line);
            exit(1);
    }
}

// ---- requests ----

/** Writes a command's array head ({@code arguments} in all, the command's name first); returns its length. */
static int command_head(char *into, int room, int arguments, const char *command) {
    return snprintf(into, room, "*%d\r\n$%zu\r\n%s\r\n", arguments, strlen(command), command);
}

/** Writes a key's bulk-string head and name into {@code room} bytes at {@code into}; returns its length. */
static int head_of_key(char *into, int room, int key) {
    char name[32];
    int length = snprintf(name, sizeof name, "key:%d", key);
    return snprintf(into, room, "$%d\r\n%s\r\n", length, name);
}

static struct iovec part(void *base, size_t length) {
    return (struct iovec){.iov_base = base, .iov_len = length};
}

/** Writes one SET of {@code key} as parts from {@code at}; returns the next free part. */
static int set_parts(worker *w, int at, int slot, int key) {
    char *head = w->heads + slot * HEAD_BYTES;
    int length = command_head(head, HEAD_BYTES, 3, "SET");
    length += head_of_key(head + length, HEAD_BYTES - length, key);
    length += snprintf(head + length, HEAD_BYTES - length, "$%d\r\n", size);
    w->parts[at++] = part(head, length);
    w->parts[at++] = part(w->value, size);
    w->parts[at++] = part("\r\n", 2);
    return at;
}

/** One call of the phase with random keys (or {@code only} >= 0: a SET of that key); returns when it is answered. */
static void call(worker *w, int phase, int only) {
    int parts = 0, replies = 1;
    switch (phase) {
        case PUT:
            parts = set_parts(w, 0, 0, only >= 0 ? only : rand_r(&w->seed) % keys);
            break;
        case GET: {
            int length = command_head(w->heads, HEAD_BYTES, 2, "GET");
            length += head_of_key(w->heads + length, HEAD_BYTES - length, rand_r(&w->seed) % keys);
            w->parts[parts++] = part(w->heads, length);
            break;
        }
        case EXISTS:
        case BATCH_GET: {
            int length = command_head(w->heads, HEAD_BYTES, batch + 1, phase == EXISTS ? "EXISTS" : "MGET");
            w->parts[parts++] = part(w->heads, length);
            for (int i = 1; i <= batch; i++) {
                char *head = w->heads + i * HEAD_BYTES;
                w->parts[parts++] = part(head, head_of_key(head, HEAD_BYTES, rand_r(&w->seed) % keys));
            }
            break;
        }
        case BATCH_PUT:
            for (int i = 0; i < batch; i++) parts = set_parts(w, parts, i, rand_r(&w->seed) % keys);
            replies = batch;
            break;
    }
    send_all(w->fd, w->parts, parts);
    w->have = w->at = 0;
    for (int i = 0; i < replies; i++) skip_reply(w);
}

static void *run(void *argument) {
    worker *w = argument;
    w->fd = connected();
    while (atomic_load(&stage) < 2) {
        int measured = atomic_load(&stage) == 1;
        double start = now();
        call(w, kind, -1);
        if (!measured) continue;
        double nanos = (now() - start) * 1e9;
        if (w->count == w->capacity) {
            w->capacity = w->capacity ? w->capacity * 2 : 1 << 16;
            w->nanos_by_call = realloc(w->nanos_by_call, w->capacity * sizeof(uint32_t));
            if (w->nanos_by_call == NULL) fail("realloc");
        }
        w->nanos_by_call[w->count++] = nanos > 4e9 ? 4000000000u : (uint32_t)nanos;
    }
    close(w->fd);
    return NULL;
}

static int ascending(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s <port> <put|get|exists|batch-get|batch-put> <value bytes> <threads> <seconds> <keys> "
                        "[keys per batch]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    kind = -1;
    for (int k = 0; k < 5; k++)
        if (strcmp(argv[2], PHASES[k]) == 0) kind = k;
    size = atoi(argv[3]);
    int threads = atoi(argv[4]);
    double seconds = atof(argv[5]);
    keys = atoi(argv[6]);
    if (argc > 7) batch = atoi(argv[7]);
    if (kind < 0 || size <= 0 || threads <= 0 || keys <= 0 || batch <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    worker *workers = calloc(threads, sizeof(worker));
    for (int t = 0; t < threads; t++) {
        worker *w = &workers[t];
        w->seed = 17 + t;
        w->value = malloc(size);
        memset(w->value, 'a' + t, size);
        w->heads = malloc((batch + 1) * HEAD_BYTES);
        w->parts = malloc((3 * batch + 1) * sizeof(struct iovec));
        w->reply_capacity = (long)(kind == BATCH_GET ? batch : 1) * (size + 32) + 64 + (kind == BATCH_PUT ? 5L * batch : 0);
        w->reply = malloc(w->reply_capacity);
    }
    if (kind == GET || kind == EXISTS || kind == BATCH_GET) { // every key holds a value of this size first
        workers[0].fd = connected();
        for (int k = 0; k < keys; k++) call(&workers[0], PUT, k);
        close(workers[0].fd);
    }
    for (int t = 0; t < threads; t++) pthread_create(&workers[t].thread, NULL, run, &workers[t]);
    sleep(1);
    atomic_store(&stage, 1);
    double start = now();
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stage, 2);
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
