/*
 * Crescent's shim over libibverbs, called from Java through FFM (dev.crescent.transfer.rdma.RdmaShim).
 *
 * Why a shim: much of the verbs API is inline in <infiniband/verbs.h> (ibv_post_send, ibv_poll_cq, and
 * ibv_query_port / ibv_reg_mr are macros over inline helpers), so it has no symbol to bind to; and its structs
 * (ibv_qp_attr, ibv_send_wr, ibv_wc, ...) change layout between rdma-core versions. The shim exposes only
 * functions of scalars, pointers and two small structs of its own, so the Java side depends on this file alone.
 *
 * Every function answers 0 (or a handle) on success and a negative errno (or NULL, with crs_last_error set) on
 * failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <infiniband/verbs.h>

#define CRS_ABI_VERSION 1

static __thread char last_error[256];

static void set_error(const char *what, int err) {
    snprintf(last_error, sizeof last_error, "%s: %s", what, strerror(err));
}

int crs_abi_version(void) { return CRS_ABI_VERSION; }

const char *crs_last_error(void) { return last_error; }

/* Devices the verbs library sees (0 when the kernel has no RDMA support or no device). */
int crs_device_count(void) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (list == NULL) {
        set_error("ibv_get_device_list", errno);
        return errno == ENOSYS ? 0 : -errno;
    }
    ibv_free_device_list(list);
    return n;
}

/* Copies the name of device `index` into `name` (at least 64 bytes). */
int crs_device_name(int index, char *name, int capacity) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (list == NULL || index < 0 || index >= n) {
        if (list) ibv_free_device_list(list);
        return -ENODEV;
    }
    snprintf(name, capacity, "%s", ibv_get_device_name(list[index]));
    ibv_free_device_list(list);
    return 0;
}

struct ibv_context *crs_open(const char *name) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    struct ibv_context *ctx = NULL;
    if (list == NULL) {
        set_error("ibv_get_device_list", errno);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(ibv_get_device_name(list[i]), name) == 0) {
            ctx = ibv_open_device(list[i]);
            if (ctx == NULL) set_error("ibv_open_device", errno);
            break;
        }
    }
    if (ctx == NULL && last_error[0] == 0) set_error(name, ENODEV);
    ibv_free_device_list(list);
    return ctx;
}

int crs_close(struct ibv_context *ctx) { return -ibv_close_device(ctx); }

/* The device's largest memory region and queue depths. */
int crs_query_device(struct ibv_context *ctx, uint64_t *max_mr_size, int32_t *max_qp_wr, int32_t *max_cqe) {
    struct ibv_device_attr attr;
    int rc = ibv_query_device(ctx, &attr);
    if (rc) return -rc;
    *max_mr_size = attr.max_mr_size;
    *max_qp_wr = attr.max_qp_wr;
    *max_cqe = attr.max_cqe;
    return 0;
}

/* What a peer needs to reach a port: its LID (InfiniBand), its GID at gid_index (RoCE), state and MTU. */
struct crs_port {
    uint16_t lid;
    uint8_t state;      /* enum ibv_port_state: 4 = ACTIVE */
    uint8_t link_layer; /* 1 = InfiniBand, 2 = Ethernet */
    uint32_t active_mtu;
    uint8_t gid[16];
};

int crs_query_port(struct ibv_context *ctx, int port, int gid_index, struct crs_port *out) {
    struct ibv_port_attr attr;
    union ibv_gid gid;
    int rc = ibv_query_port(ctx, (uint8_t) port, &attr);
    if (rc) return -rc;
    rc = ibv_query_gid(ctx, (uint8_t) port, gid_index, &gid);
    if (rc) return -rc;
    out->lid = attr.lid;
    out->state = (uint8_t) attr.state;
    out->link_layer = attr.link_layer;
    out->active_mtu = attr.active_mtu;
    memcpy(out->gid, gid.raw, 16);
    return 0;
}

struct ibv_pd *crs_alloc_pd(struct ibv_context *ctx) {
    struct ibv_pd *pd = ibv_alloc_pd(ctx);
    if (pd == NULL) set_error("ibv_alloc_pd", errno);
    return pd;
}

int crs_dealloc_pd(struct ibv_pd *pd) { return -ibv_dealloc_pd(pd); }

struct ibv_mr *crs_reg_mr(struct ibv_pd *pd, void *addr, uint64_t length, int access, uint32_t *lkey,
                          uint32_t *rkey) {
    struct ibv_mr *mr = ibv_reg_mr(pd, addr, length, access);
    if (mr == NULL) {
        set_error("ibv_reg_mr", errno);
        return NULL;
    }
    *lkey = mr->lkey;
    *rkey = mr->rkey;
    return mr;
}

int crs_dereg_mr(struct ibv_mr *mr) { return -ibv_dereg_mr(mr); }

struct ibv_cq *crs_create_cq(struct ibv_context *ctx, int entries) {
    struct ibv_cq *cq = ibv_create_cq(ctx, entries, NULL, NULL, 0);
    if (cq == NULL) set_error("ibv_create_cq", errno);
    return cq;
}

int crs_destroy_cq(struct ibv_cq *cq) { return -ibv_destroy_cq(cq); }

/* A reliable-connected queue pair on `cq`, in RESET; its number goes to *qp_num. */
struct ibv_qp *crs_create_qp(struct ibv_pd *pd, struct ibv_cq *cq, int max_wr, uint32_t *qp_num) {
    struct ibv_qp_init_attr init;
    memset(&init, 0, sizeof init);
    init.send_cq = cq;
    init.recv_cq = cq;
    init.qp_type = IBV_QPT_RC;
    init.sq_sig_all = 0;
    init.cap.max_send_wr = max_wr;
    init.cap.max_recv_wr = 1;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    struct ibv_qp *qp = ibv_create_qp(pd, &init);
    if (qp == NULL) {
        set_error("ibv_create_qp", errno);
        return NULL;
    }
    *qp_num = qp->qp_num;
    return qp;
}

int crs_destroy_qp(struct ibv_qp *qp) { return -ibv_destroy_qp(qp); }

/* RESET -> INIT: bound to a port, remote reads and writes allowed. */
int crs_qp_init(struct ibv_qp *qp, int port) {
    struct ibv_qp_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.qp_state = IBV_QPS_INIT;
    attr.port_num = (uint8_t) port;
    attr.pkey_index = 0;
    attr.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
    return -ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

/* INIT -> RTR: aimed at the remote QP (by LID on InfiniBand, by GID when `use_gid`, as RoCE needs). */
int crs_qp_rtr(struct ibv_qp *qp, int port, uint32_t remote_qpn, uint32_t remote_psn, uint16_t remote_lid,
               const uint8_t *remote_gid, int use_gid, int gid_index, int mtu) {
    struct ibv_qp_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.qp_state = IBV_QPS_RTR;
    attr.path_mtu = (enum ibv_mtu) mtu;
    attr.dest_qp_num = remote_qpn;
    attr.rq_psn = remote_psn;
    attr.max_dest_rd_atomic = 16;
    attr.min_rnr_timer = 12;
    attr.ah_attr.dlid = remote_lid;
    attr.ah_attr.port_num = (uint8_t) port;
    if (use_gid) {
        attr.ah_attr.is_global = 1;
        attr.ah_attr.grh.hop_limit = 64;
        attr.ah_attr.grh.sgid_index = (uint8_t) gid_index;
        memcpy(attr.ah_attr.grh.dgid.raw, remote_gid, 16);
    }
    return -ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN
                                     | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

/* RTR -> RTS: ready to post. */
int crs_qp_rts(struct ibv_qp *qp, uint32_t psn) {
    struct ibv_qp_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.qp_state = IBV_QPS_RTS;
    attr.timeout = 14;
    attr.retry_cnt = 7;
    attr.rnr_retry = 7;
    attr.sq_psn = psn;
    attr.max_rd_atomic = 16;
    return -ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY
                                     | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

/* One signaled RDMA READ (opcode 1) or WRITE (opcode 2) of `length` bytes; its completion carries wr_id. */
int crs_post_rdma(struct ibv_qp *qp, int opcode, uint64_t wr_id, void *local, uint32_t length, uint32_t lkey,
                  uint64_t remote, uint32_t rkey) {
    struct ibv_sge sge = {.addr = (uintptr_t) local, .length = length, .lkey = lkey};
    struct ibv_send_wr wr, *bad = NULL;
    memset(&wr, 0, sizeof wr);
    wr.wr_id = wr_id;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = opcode == 1 ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = remote;
    wr.wr.rdma.rkey = rkey;
    return -ibv_post_send(qp, &wr, &bad);
}

/* A completion as Java reads it. */
struct crs_completion {
    uint64_t wr_id;
    int32_t status; /* enum ibv_wc_status: 0 = success */
    uint32_t byte_len;
};

/* Up to `max` completions into `out`; answers how many (or a negative errno). */
int crs_poll_cq(struct ibv_cq *cq, int max, struct crs_completion *out) {
    struct ibv_wc wc[64];
    if (max > 64) max = 64;
    int n = ibv_poll_cq(cq, max, wc);
    for (int i = 0; i < n; i++) {
        out[i].wr_id = wc[i].wr_id;
        out[i].status = wc[i].status;
        out[i].byte_len = wc[i].byte_len;
    }
    return n < 0 ? -EIO : n;
}

const char *crs_wc_status_str(int status) { return ibv_wc_status_str((enum ibv_wc_status) status); }
