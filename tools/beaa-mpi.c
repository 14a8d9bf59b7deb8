/* beaa-mpi - the server's encrypted pass over several processes with MPI (OpenMPI, mpicc):
 *   mpirun -np R bin/beaa-mpi infer --keys KEYS --in CT --out LOGITS [--in CT2 --out LOGITS2 ...]
 * One batch (one ciphertext file): every stage's output positions are split over the R ranks
 * by rows (nn/partition.h); each rank reads the input ciphertexts its band needs from the file,
 * computes its groups with the engine of nn/exec.h, sends each output it computes to the ranks
 * whose groups read it (point to point: the halo rows, never whole feature maps) and receives
 * theirs; rank 0 gathers the logits and writes the file. More batches than one (more images
 * than slots): the ranks form min(batches, R) teams (rank r in team r mod teams), each team
 * takes every teams-th batch, split over its members as above; each team's first rank writes
 * its logits files. The logits are bit for bit those of `beaa infer` (exact integer arithmetic
 * after encryption; nn/exec.h), whatever R.
 * Faults: an error on one rank (a corrupt input, a full disk) prints it and aborts the job
 * (MPI_Abort); a rank that dies makes mpirun end the others, whose SIGTERM handler prints that
 * they stopped; no logits file is ever half written (written to a temporary name and renamed,
 * with SIGINT/SIGTERM held meanwhile). libbeaa.a has no MPI in it: MPI lives in this file. */
#include <mpi.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/cpu.h"
#include "lib/pool.h"
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/exec.h"
#include "nn/partition.h"
#include "nn/quant.h"
#include "nn/schedule.h"
#include "tools/common/files.h"

#define MAX_BATCHES 256
#define TAG_STRIDE ((int)1 << 20)   /* tag = stage * TAG_STRIDE + element */
#define MIB 1048576.0

static int g_rank = -1;

static void on_signal(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "beaa-mpi: rank %d: stopped by signal %d (another rank failed, or the job was "
                     "cancelled); no logits written by this rank\n", g_rank, sig);
    if (n > 0) {
        ssize_t w = write(2, msg, (size_t)n);
        (void)w;
    }
    _exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Prints the error of this rank and ends the whole job: every rank stops (mpirun ends them). */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "beaa-mpi: rank %d: ", g_rank);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; stopping every rank\n");
    va_end(ap);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}

typedef struct opts {
    const char *model, *keys, *stats, *pool_limit;
    const char *in[MAX_BATCHES], *out[MAX_BATCHES];
    int nin, nout, overwrite, insecure, threads;
    size_t pool_bytes;
} opts;

static void usage(void)
{
    fprintf(stderr,
        "usage: mpirun -np R beaa-mpi infer --keys KEYS --in CT --out LOGITS [--in CT2 --out LOGITS2 ...]\n"
        "                [--model M] [--threads T] [--overwrite] [--insecure-small-ring] [--stats CSV]\n"
        "                [--pool-limit SIZE]\n"
        "  one batch: every stage split over the R ranks by rows, halos exchanged point to point,\n"
        "  logits gathered on rank 0; several batches (--in/--out pairs): spread over the ranks.\n"
        "  --threads T: threads per rank (default: all cores / ranks on this node)\n"
        "  --stats CSV: per-rank time, peak memory and bytes exchanged per stage (CSV rows)\n"
        "  --pool-limit SIZE: most bytes of freed ciphertext memory each rank keeps for reuse\n"
        "    (default 2G; lower: less memory per rank, more page faults)\n"
        "  as root, mpirun needs --allow-run-as-root (the make targets pass it)\n");
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->model = DEFAULT_MODEL;
    if (argc < 2 || strcmp(argv[1], "infer") != 0) return -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--overwrite")) { o->overwrite = 1; continue; }
        if (!strcmp(a, "--insecure-small-ring")) { o->insecure = 1; continue; }
        if (!v) { if (g_rank == 0) fprintf(stderr, "beaa-mpi: %s needs a value\n", a); return -1; }
        i++;
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--keys")) o->keys = v;
        else if (!strcmp(a, "--stats")) o->stats = v;
        else if (!strcmp(a, "--pool-limit")) o->pool_limit = v;
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--in") && o->nin < MAX_BATCHES) o->in[o->nin++] = v;
        else if (!strcmp(a, "--out") && o->nout < MAX_BATCHES) o->out[o->nout++] = v;
        else {
            if (g_rank == 0) fprintf(stderr, "beaa-mpi: unknown or repeated too often: '%s'\n", a);
            return -1;
        }
    }
    if (o->pool_limit && parse_size(o->pool_limit, &o->pool_bytes) != 0) {
        if (g_rank == 0) fprintf(stderr, "beaa-mpi: --pool-limit '%s': not a size (e.g. 512M)\n", o->pool_limit);
        return -1;
    }
    if (!o->keys || o->nin == 0 || o->nin != o->nout) {
        if (g_rank == 0) fprintf(stderr, "beaa-mpi: needs --keys and as many --out as --in\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ one batch on one team */

typedef struct pending {
    MPI_Request req[2];
    beaa_ckks_ciphertext *ct;   /* owned: freed when both sends are done */
    double hdr[3];
} pending;

typedef struct team_run {
    MPI_Comm comm;
    int trank, tsize;
    const beaa_nn_net *net;
    const beaa_nn_partition *pt;
    const beaa_ckks_context *ctx;
    beaa_nn_exec *ex;
    pending *pend;
    size_t npend, cap;
    double *sent_bytes, *recv_bytes;   /* per producing stage */
    size_t *sent_cts, *recv_cts;
    beaa_status err;
} team_run;

static void pend_reap(team_run *t, int wait)
{
    size_t j = 0;
    for (size_t i = 0; i < t->npend; i++) {
        int done = 0;
        if (wait) { MPI_Waitall(2, t->pend[i].req, MPI_STATUSES_IGNORE); done = 1; }
        else MPI_Testall(2, t->pend[i].req, &done, MPI_STATUSES_IGNORE);
        if (done) beaa_ckks_ciphertext_free(t->pend[i].ct);
        else t->pend[j++] = t->pend[i];
    }
    t->npend = j;
}

static void send_ct(team_run *t, int dest, int tag, beaa_ckks_ciphertext *ct, uint32_t si)
{
    if (t->npend == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        pending *np = realloc(t->pend, sizeof *np * nc);
        if (!np) die("%s", beaa_strerror(BEAA_ERR_NOMEM));
        t->pend = np;
        t->cap = nc;
    }
    pending *p = &t->pend[t->npend++];
    p->ct = ct;
    p->hdr[0] = ct->scale;
    p->hdr[1] = (double)ct->level;
    p->hdr[2] = (double)ct->size; /* 3: the products a stage with raw inputs reads (nn/fold.h) */
    size_t words = (size_t)ct->size * (ct->level + 1) * beaa_ckks_context_n(t->ctx);
    MPI_Isend(p->hdr, 3, MPI_DOUBLE, dest, tag, t->comm, &p->req[0]);
    MPI_Isend(ct->data, (int)words, MPI_UINT64_T, dest, tag, t->comm, &p->req[1]);
    t->sent_bytes[si] += (double)(words * 8 + sizeof p->hdr);
    t->sent_cts[si]++;
}

/* The engine's output hook: send the element to every other rank whose groups read it. */
static void on_output(void *user, uint32_t si, uint32_t elem, beaa_ckks_ciphertext **ct, int here)
{
    team_run *t = user;
    if (si + 1 >= t->net->nstages || t->err != BEAA_OK) return; /* logits: gathered at the end */
    const uint32_t *rs = t->pt->rstart[si + 1], *rd = t->pt->readers[si + 1];
    int others = 0;
    for (uint32_t r = rs[elem]; r < rs[elem + 1]; r++) others += (int)rd[r] != t->trank;
    for (uint32_t r = rs[elem]; r < rs[elem + 1]; r++) {
        if ((int)rd[r] == t->trank) continue;
        beaa_ckks_ciphertext *c = NULL;
        if (!here && --others == 0) { c = *ct; *ct = NULL; } /* the last copy: the original */
        else if (beaa_ckks_ciphertext_clone(*ct, &c) != BEAA_OK) { t->err = BEAA_ERR_NOMEM; return; }
        send_ct(t, (int)rd[r], (int)(si + 1) * TAG_STRIDE + (int)elem, c, si);
    }
}

/* Receives one message that has arrived (from status): an input of a stage, or a logit. */
static void recv_one(team_run *t, const MPI_Status *ps, beaa_ckks_ciphertext **logits)
{
    MPI_Status s = *ps;
    double hdr[3];
    MPI_Recv(hdr, 3, MPI_DOUBLE, s.MPI_SOURCE, s.MPI_TAG, t->comm, MPI_STATUS_IGNORE);
    int si = s.MPI_TAG / TAG_STRIDE, elem = s.MPI_TAG % TAG_STRIDE;
    unsigned level = (unsigned)hdr[1], size = (unsigned)hdr[2];
    if (level > beaa_ckks_context_max_level(t->ctx)) die("received a ciphertext of level %u", level);
    if (size != 2 && size != 3) die("received a ciphertext of size %u", size);
    beaa_ckks_ciphertext *ct = NULL;
    beaa_status st = beaa_ckks_ciphertext_new_uninit(t->ctx, size, level, &ct);
    if (st != BEAA_OK) die("receiving: %s", beaa_strerror(st));
    size_t words = (size_t)size * (level + 1) * beaa_ckks_context_n(t->ctx);
    MPI_Recv(ct->data, (int)words, MPI_UINT64_T, s.MPI_SOURCE, s.MPI_TAG, t->comm, MPI_STATUS_IGNORE);
    ct->scale = hdr[0];
    if ((uint32_t)si == t->net->nstages) {
        if (!logits || (uint32_t)elem >= t->net->num_classes || logits[elem])
            die("unexpected logit %d from rank %d", elem, s.MPI_SOURCE);
        logits[elem] = ct;
        return;
    }
    if (si < 1 || (uint32_t)si >= t->net->nstages) die("message with tag %d", s.MPI_TAG);
    t->recv_bytes[si - 1] += (double)(words * 8 + sizeof hdr);
    t->recv_cts[si - 1]++;
    st = beaa_nn_exec_put(t->ex, (uint32_t)si, (size_t)elem, ct);
    if (st != BEAA_OK) die("input %d of stage %d from rank %d: %s", elem, si + 1, s.MPI_SOURCE, beaa_strerror(st));
}

/* Receives whatever has arrived; with block, waits (polling gently: ranks may share cores)
 * until at least one message came. */
static void drain(team_run *t, int block, beaa_ckks_ciphertext **logits)
{
    int got = 0;
    for (;;) {
        int flag = 0;
        MPI_Status s;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, t->comm, &flag, &s);
        if (flag) { recv_one(t, &s, logits); got = 1; continue; }
        pend_reap(t, 0);
        if (!block || got) return;
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
}

typedef struct load_ctx {
    team_run *t;
    ct_source *src;
    const char *path;
} load_ctx;

static void load_missing(void *user, size_t idx)
{
    load_ctx *l = user;
    if (beaa_nn_exec_has(l->t->ex, 0, idx)) return;
    beaa_ckks_ciphertext *ct = NULL;
    beaa_status st = ct_source_get(l->src, idx, &ct);
    if (st == BEAA_OK) st = beaa_nn_exec_put(l->t->ex, 0, idx, ct);
    if (st != BEAA_OK) die("%s: ciphertext %zu: %s", l->path, idx, beaa_strerror(st));
}

typedef struct batch_stats {
    double time_s, compute_s;
    size_t groups, input_reads;
} batch_stats;

/* Runs one batch on the team: 0 and the logits (on team rank 0), or dies. */
static void run_batch(team_run *t, const beaa_nn_qnet *qn, const beaa_ckks_relin_key *rk,
                      const beaa_nn_schedule *sc, ct_source *src, const char *path, int threads,
                      beaa_ckks_ciphertext **logits, batch_stats *bs)
{
    const beaa_nn_net *net = t->net;
    const uint32_t L = net->nstages;
    uint8_t **own = NULL;
    beaa_status st = beaa_nn_partition_own(t->pt, sc, (uint32_t)t->trank, &own);
    if (st == BEAA_OK)
        st = beaa_nn_exec_new(net, qn, rk, sc, (const uint8_t *const *)own, threads, on_output, t, &t->ex);
    if (st != BEAA_OK) die("%s", beaa_strerror(st));
    /* the own groups of each stage in this part's order (nn/partition.h) */
    uint32_t *seq[BEAA_NN_MAX_STAGES] = { 0 }, pos[BEAA_NN_MAX_STAGES], cnt[BEAA_NN_MAX_STAGES];
    size_t left = 0;
    for (uint32_t si = 0; si < L; si++) {
        cnt[si] = t->pt->gfirst[si][t->trank + 1] - t->pt->gfirst[si][t->trank];
        pos[si] = 0;
        left += cnt[si];
        if (!(seq[si] = malloc(sizeof(uint32_t) * (cnt[si] + 1)))) die("%s", beaa_strerror(BEAA_ERR_NOMEM));
        st = beaa_nn_partition_order(t->pt, net, sc, si, (uint32_t)t->trank, seq[si]);
        if (st != BEAA_OK) die("%s", beaa_strerror(st));
    }
    const char *kill_at = getenv("BEAA_MPI_TEST_KILL"); /* test hook: "rank:groups" */
    int kill_rank = -1;
    size_t kill_after = 0;
    if (kill_at && sscanf(kill_at, "%d:%zu", &kill_rank, &kill_after) != 2) kill_rank = -1;
    load_ctx lc = { t, src, path };
    double t0 = now_s(), tc = 0;
    size_t done = 0;
    while (left > 0) {
        drain(t, 0, logits);
        if (t->err != BEAA_OK) die("%s", beaa_strerror(t->err));
        int ran = 0;
        for (uint32_t s2 = L; s2-- > 0 && !ran;) {
            if (pos[s2] == cnt[s2]) continue;
            uint32_t g = seq[s2][pos[s2]];
            if (s2 == 0) beaa_nn_exec_missing(t->ex, 0, g, load_missing, &lc);
            else if (!beaa_nn_exec_ready(t->ex, s2, g)) continue;
            double ta = now_s();
            st = beaa_nn_exec_run(t->ex, s2, g);
            tc += now_s() - ta;
            if (st != BEAA_OK) die("stage %u group %u: %s", s2 + 1, g, beaa_strerror(st));
            if (t->err != BEAA_OK) die("%s", beaa_strerror(t->err));
            pos[s2]++;
            left--;
            done++;
            ran = 1;
            if ((int)g_rank == kill_rank && done == kill_after) {
                fprintf(stderr, "beaa-mpi: rank %d: BEAA_MPI_TEST_KILL: killing myself after %zu groups\n",
                        g_rank, done);
                fflush(stderr);
                raise(SIGKILL);
            }
        }
        if (!ran) drain(t, 1, logits); /* every next group waits for a halo */
    }
    /* logits: the owner(s) of the last stage send them to team rank 0 */
    for (uint32_t k = 0; k < net->num_classes; k++) {
        beaa_ckks_ciphertext *ct = NULL;
        if (beaa_nn_exec_take_logit(t->ex, k, &ct) != BEAA_OK) continue;
        if (t->trank == 0) logits[k] = ct;
        else send_ct(t, 0, (int)L * TAG_STRIDE + (int)k, ct, L - 1);
    }
    if (t->trank == 0) {
        for (;;) {
            uint32_t have = 0;
            for (uint32_t k = 0; k < net->num_classes; k++) have += logits[k] != NULL;
            if (have == net->num_classes) break;
            drain(t, 1, logits);
        }
    }
    pend_reap(t, 1);
    bs->time_s = now_s() - t0;
    bs->compute_s = tc;
    bs->groups = done;
    bs->input_reads = src->reads;
    beaa_nn_exec_free(t->ex);
    t->ex = NULL;
    free(own);
    for (uint32_t si = 0; si < L; si++) free(seq[si]);
    /* every message of this batch was received by its reader: the next batch reuses the tags */
    MPI_Barrier(t->comm);
}

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    g_rank = rank;
    tool_prog = "beaa-mpi";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    opts o;
    if (parse(argc, argv, &o) != 0) {
        if (rank == 0) usage();
        MPI_Finalize();
        return 2;
    }
    int threads = o.threads;
    if (threads <= 0) {
        /* ranks on this node share its cores */
        MPI_Comm node;
        int nlocal = 1;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
        MPI_Comm_size(node, &nlocal);
        MPI_Comm_free(&node);
        threads = beaa_cpu_threads() / nlocal;
        if (threads < 1) threads = 1;
    }
    if (o.pool_limit) beaa_pool_set_limit(o.pool_bytes);
    char tb[16];
    snprintf(tb, sizeof tb, "%d", threads);
    setenv("BEAA_THREADS", tb, 1);

    /* setup on every rank; any failure stops all ranks together (no rank waits for another) */
    int ok = 1;
    setup s;
    memset(&s, 0, sizeof s);
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    beaa_nn_schedule *sc = NULL;
    double scale = 0, in_scale = 0;
    if (rank == 0 && !o.overwrite)
        for (int b = 0; b < o.nout; b++)
            if (access(o.out[b], F_OK) == 0) {
                fprintf(stderr, "beaa-mpi: %s: %s (use --overwrite to replace it)\n", o.out[b],
                        beaa_strerror(BEAA_ERR_EXISTS));
                ok = 0;
            }
    if (ok && load_model(o.model, &s)) ok = 0;
    beaa_status st = BEAA_OK;
    if (ok) {
        st = load_server_keys(o.keys, o.insecure, &ctx, &rk, &scale, &in_scale);
        if (st != BEAA_OK) { fprintf(stderr, "beaa-mpi: rank %d: %s: %s\n", rank, o.keys, beaa_strerror(st)); ok = 0; }
    }
    /* every batch file: header, metadata and shape checked by every rank before any work */
    ct_source src[MAX_BATCHES];
    memset(src, 0, sizeof src);
    for (int b = 0; b < o.nin && ok; b++) {
        const char *why = NULL;
        st = ct_source_open(o.in[b], ctx, CT_MAGIC, &src[b], &why);
        if (st != BEAA_OK) {
            fprintf(stderr, "beaa-mpi: rank %d: %s: %s%s%s%s\n", rank, o.in[b], beaa_strerror(st),
                    st == BEAA_ERR_PARAMS_MISMATCH ? " (ciphertexts were made for other keys)" : "",
                    why ? ": " : "", why ? why : "");
            ok = 0;
        } else if (src[b].meta.c != s.m->in_c || src[b].meta.h != s.m->in_h || src[b].meta.w != s.m->in_w) {
            fprintf(stderr, "beaa-mpi: %s holds %ux%ux%u inputs, the model wants %ux%ux%u\n", o.in[b],
                    src[b].meta.c, src[b].meta.h, src[b].meta.w, s.m->in_c, s.m->in_h, s.m->in_w);
            ok = 0;
        }
    }
    if (ok && make_plan(&s, src[0].meta.n_images, beaa_ckks_context_log_n(ctx), 1, log2u(scale),
                        log2u(in_scale)))
        ok = 0;
    if (ok && s.plan.levels != beaa_ckks_context_max_level(ctx)) {
        fprintf(stderr, "beaa-mpi: model is %u levels deep but the keys' chain has %u levels (%s)\n",
                s.plan.levels, beaa_ckks_context_max_level(ctx), beaa_strerror(BEAA_ERR_DEPTH));
        ok = 0;
    }
    if (ok && (st = beaa_nn_quantize(s.net, &s.plan, ctx, &qn)) != BEAA_OK) {
        fprintf(stderr, "beaa-mpi: quantize: %s\n", beaa_strerror(st));
        ok = 0;
    }
    if (ok && (st = beaa_nn_schedule_make(s.net, &sc)) != BEAA_OK) {
        fprintf(stderr, "beaa-mpi: schedule: %s\n", beaa_strerror(st));
        ok = 0;
    }
    int *tag_ub = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
    if (ok && (!flag || !tag_ub || (long long)*tag_ub < (long long)(s.net->nstages + 1) * TAG_STRIDE)) {
        fprintf(stderr, "beaa-mpi: this MPI's largest tag is too small for %u stages\n", s.net->nstages);
        ok = 0;
    }
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank == 0) fprintf(stderr, "beaa-mpi: stopped before the encrypted pass (see above); no output written\n");
        for (int b = 0; b < o.nin; b++) ct_source_close(&src[b]);
        beaa_nn_schedule_free(sc);
        beaa_nn_qnet_free(qn);
        beaa_ckks_relin_key_free(rk);
        beaa_ckks_context_free(ctx);
        setup_free(&s);
        MPI_Finalize();
        return 1;
    }
    const uint32_t L = s.net->nstages;
    int teams = o.nin < size ? o.nin : size, team = rank % teams;
    team_run t;
    memset(&t, 0, sizeof t);
    MPI_Comm_split(MPI_COMM_WORLD, team, rank, &t.comm);
    MPI_Comm_rank(t.comm, &t.trank);
    MPI_Comm_size(t.comm, &t.tsize);
    t.net = s.net;
    t.ctx = ctx;
    t.sent_bytes = calloc(L, sizeof(double));
    t.recv_bytes = calloc(L, sizeof(double));
    t.sent_cts = calloc(L, sizeof(size_t));
    t.recv_cts = calloc(L, sizeof(size_t));
    beaa_nn_partition *pt = NULL;
    beaa_ckks_ciphertext **lg = calloc(s.net->num_classes, sizeof *lg);
    if (!t.sent_bytes || !t.recv_bytes || !t.sent_cts || !t.recv_cts || !lg) die("%s", beaa_strerror(BEAA_ERR_NOMEM));
    st = beaa_nn_partition_rows(s.net, sc, (uint32_t)t.tsize, &pt);
    if (st != BEAA_OK) die("partition: %s", beaa_strerror(st));
    t.pt = pt;
    if (rank == 0)
        fprintf(stderr, "beaa-mpi: %d ranks x %d threads, %d batch%s in %d team%s; %s\n", size, threads,
                o.nin, o.nin > 1 ? "es" : "", teams, teams > 1 ? "s" : "", s.plan.msg);
    double t_all = now_s(), busy = 0, comp = 0;
    size_t groups = 0, reads = 0;
    for (int b = team; b < o.nin; b += teams) {
        batch_stats bs;
        run_batch(&t, qn, rk, sc, &src[b], o.in[b], threads, lg, &bs);
        busy += bs.time_s;
        comp += bs.compute_s;
        groups += bs.groups;
        reads += bs.input_reads;
        if (t.trank == 0) {
            sigset_t block, prev;
            sigemptyset(&block);
            sigaddset(&block, SIGINT);
            sigaddset(&block, SIGTERM);
            sigaddset(&block, SIGHUP);
            sigprocmask(SIG_BLOCK, &block, &prev);
            st = write_cts(o.out[b], o.overwrite, ctx, LG_MAGIC, src[b].meta.n_images, s.net->num_classes,
                           1, 1, lg, s.net->num_classes);
            sigprocmask(SIG_SETMASK, &prev, NULL);
            if (st != BEAA_OK) die("%s: %s", o.out[b], beaa_strerror(st));
            fprintf(stderr, "beaa-mpi: batch %d (%u images): %.1f s; wrote encrypted logits to %s\n", b,
                    src[b].meta.n_images, bs.time_s, o.out[b]);
        }
        for (uint32_t k = 0; k < s.net->num_classes; k++) { beaa_ckks_ciphertext_free(lg[k]); lg[k] = NULL; }
    }
    double wall = now_s() - t_all;
    /* the report: per rank time and peak memory; per stage ciphertexts and bytes sent */
    double mine[6] = { wall, busy, comp, (double)rss_peak_bytes(), (double)groups, (double)reads };
    double *all = rank == 0 ? malloc(sizeof(double) * 6 * (size_t)size) : NULL;
    MPI_Gather(mine, 6, MPI_DOUBLE, all, 6, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    double *sb = rank == 0 ? calloc(L, sizeof(double)) : NULL, *sc_n = rank == 0 ? calloc(L, sizeof(double)) : NULL;
    double *cts = calloc(L, sizeof(double));
    for (uint32_t si = 0; si < L; si++) cts[si] = (double)t.sent_cts[si];
    MPI_Reduce(t.sent_bytes, sb, (int)L, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(cts, sc_n, (int)L, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0 && all && sb && sc_n) {
        FILE *f = o.stats ? fopen(o.stats, "w") : NULL;
        if (o.stats && !f) fprintf(stderr, "beaa-mpi: cannot write %s\n", o.stats);
        char par[160];
        snprintf(par, sizeof par, "ranks=%d;threads=%d;batches=%d;N=2^%u", size, threads, o.nin,
                 beaa_ckks_context_log_n(ctx));
        if (f) fprintf(f, "benchmark,params,metric,value,unit\n");
        for (int r = 0; r < size; r++) {
            fprintf(stderr, "beaa-mpi: rank %d: %.1f s (computing %.1f s), %.0f groups, %.0f input reads, "
                            "peak memory (ru_maxrss) %.0f MiB\n", r, all[6 * r + 1], all[6 * r + 2],
                    all[6 * r + 4], all[6 * r + 5], all[6 * r + 3] / MIB);
            if (f) {
                fprintf(f, "mpi_infer,%s;rank=%d,time,%.3f,s\n", par, r, all[6 * r + 1]);
                fprintf(f, "mpi_infer,%s;rank=%d,compute,%.3f,s\n", par, r, all[6 * r + 2]);
                fprintf(f, "mpi_infer,%s;rank=%d,peak_rss,%.1f,MiB\n", par, r, all[6 * r + 3] / MIB);
                fprintf(f, "mpi_infer,%s;rank=%d,groups,%.0f,count\n", par, r, all[6 * r + 4]);
                fprintf(f, "mpi_infer,%s;rank=%d,input_reads,%.0f,count\n", par, r, all[6 * r + 5]);
            }
        }
        double tot = 0;
        for (uint32_t si = 0; si < L; si++) {
            tot += sb[si];
            if (si + 1 < L)
                fprintf(stderr, "beaa-mpi: stage %u outputs sent to other ranks: %.0f ciphertexts, %.1f MiB\n",
                        si + 1, sc_n[si], sb[si] / MIB);
            if (f) {
                fprintf(f, "mpi_infer,%s;stage=%u,sent_cts,%.0f,count\n", par, si + 1, sc_n[si]);
                fprintf(f, "mpi_infer,%s;stage=%u,sent_bytes,%.0f,B\n", par, si + 1, sb[si]);
            }
        }
        fprintf(stderr, "beaa-mpi: exchanged %.1f MiB in all (logits gathered included); wall %.1f s\n",
                tot / MIB, wall);
        if (f) {
            fprintf(f, "mpi_infer,%s,wall,%.3f,s\n", par, wall);
            fprintf(f, "mpi_infer,%s,exchanged_bytes,%.0f,B\n", par, tot);
            fclose(f);
        }
    }
    free(all);
    free(sb);
    free(sc_n);
    free(cts);
    free(lg);
    free(t.pend);
    free(t.sent_bytes);
    free(t.recv_bytes);
    free(t.sent_cts);
    free(t.recv_cts);
    beaa_nn_partition_free(pt);
    MPI_Comm_free(&t.comm);
    for (int b = 0; b < o.nin; b++) ct_source_close(&src[b]);
    beaa_nn_schedule_free(sc);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_context_free(ctx);
    setup_free(&s);
    MPI_Finalize();
    return 0;
}
