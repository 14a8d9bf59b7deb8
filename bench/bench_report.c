/* bench_report.c - turns the rows that scripts/bench.sh collected (DIR/results.csv) into
 * DIR/report.md and its PNG plots (gnuplot, data files and DIR/plots.gp): machine and parameters,
 * the paper's Figure 7, Table 1 on Fashion-MNIST, Table 3, the headline side by side with the
 * paper's numbers, and the CKKS primitives and kernels with their ratio to the portable kernels.
 * Missing rows (a skipped or failed step) show as "not run" with the reason; nothing is
 * invented. Usage: bench_report DIR   (docs/bench.md explains every table) */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the rows */

typedef struct row {
    char *bench, *params, *metric, *value, *unit;
} row;

static row *g_rows;
static size_t g_n;

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 1; }
    char line[4096];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *field[5];
        int k = 0;
        char *p = line;
        for (; k < 5 && p; k++) {
            field[k] = p;
            char *c = k < 4 ? strchr(p, ',') : NULL;
            if (c) *c = 0;
            p = c ? c + 1 : NULL;
        }
        if (k < 5 || !strcmp(field[0], "benchmark")) continue;
        if (g_n == cap) {
            cap = cap ? 2 * cap : 1024;
            row *r = realloc(g_rows, cap * sizeof *r);
            if (!r) { fclose(f); return 1; }
            g_rows = r;
        }
        row *r = &g_rows[g_n++];
        r->bench = strdup(field[0]);
        r->params = strdup(field[1]);
        r->metric = strdup(field[2]);
        r->value = strdup(field[3]);
        r->unit = strdup(field[4]);
        if (!r->bench || !r->params || !r->metric || !r->value || !r->unit) { fclose(f); return 1; }
    }
    fclose(f);
    return 0;
}

/* 1 if every "k=v" of the space-separated list `want` is a whole token of params (tokens are
 * separated by ';' or ' '). */
static int params_match(const char *params, const char *want)
{
    char w[512];
    snprintf(w, sizeof w, "%s", want);
    for (char *save = NULL, *t = strtok_r(w, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        size_t lt = strlen(t);
        const char *p = params;
        int found = 0;
        while ((p = strstr(p, t)) != NULL) {
            int start = p == params || p[-1] == ';' || p[-1] == ' ';
            int end = p[lt] == 0 || p[lt] == ';' || p[lt] == ' ';
            if (start && end) { found = 1; break; }
            p++;
        }
        if (!found) return 0;
    }
    return 1;
}

/* The last row of bench whose params contain `want` with this metric (NULL if none). */
static const row *find(const char *bench, const char *want, const char *metric)
{
    for (size_t i = g_n; i-- > 0;)
        if (!strcmp(g_rows[i].bench, bench) && !strcmp(g_rows[i].metric, metric) &&
            params_match(g_rows[i].params, want))
            return &g_rows[i];
    return NULL;
}

static double num(const char *bench, const char *want, const char *metric)
{
    const row *r = find(bench, want, metric);
    return r ? strtod(r->value, NULL) : NAN;
}

static const char *txt(const char *bench, const char *want, const char *metric)
{
    const row *r = find(bench, want, metric);
    return r ? r->value : NULL;
}

/* ------------------------------------------------------------------ formatting */

static FILE *g_md;
static const char *g_dir;

static void md(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(g_md, fmt, ap);
    va_end(ap);
}

/* Rotating buffers so that several formatted values fit in one md() call. */
static char *buf(void)
{
    static char b[32][64];
    static int i;
    return b[i++ & 31];
}
static const char *f_num(double v, int dec)
{
    char *b = buf();
    if (isnan(v)) return "-";
    snprintf(b, 64, "%.*f", dec, v);
    return b;
}
static const char *f_pct(double frac)
{
    char *b = buf();
    if (isnan(frac)) return "-";
    snprintf(b, 64, "%.2f%%", 100 * frac);
    return b;
}
static const char *f_int(double v)
{
    char *b = buf();
    if (isnan(v)) return "-";
    char t[40];
    snprintf(t, sizeof t, "%.0f", fabs(v));
    size_t n = strlen(t), o = 0;
    if (v < 0) b[o++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) b[o++] = ',';
        b[o++] = t[i];
    }
    b[o] = 0;
    return b;
}
/* s, or "?" when NULL. */
static const char *or_q(const char *s) { return s ? s : "?"; }
/* A time in seconds, printed with a unit that keeps 3 significant digits. */
static const char *f_time(double s)
{
    char *b = buf();
    if (isnan(s)) return "-";
    if (s >= 100) snprintf(b, 64, "%.0f s", s);
    else if (s >= 1) snprintf(b, 64, "%.2f s", s);
    else if (s >= 0.1) snprintf(b, 64, "%.0f ms", s * 1e3);
    else if (s >= 0.01) snprintf(b, 64, "%.1f ms", s * 1e3);
    else if (s >= 1e-3) snprintf(b, 64, "%.2f ms", s * 1e3);
    else if (s == 0) snprintf(b, 64, "< 1 ms");
    else snprintf(b, 64, "%.1f us", s * 1e6);
    return b;
}

/* Why a step produced no rows: skipped for memory, or failed. */
static const char *why_missing(const char *bench, const char *want)
{
    char *b = buf();
    double need = num(bench, want, "skipped_needs_memory");
    if (!isnan(need)) {
        snprintf(b, 64, "skipped: needs %.1f GiB", need / 1024.0);
        return b;
    }
    return "not run (step failed or missing)";
}

/* ------------------------------------------------------------------ plots */

static FILE *g_gp;

static FILE *dat(const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    if (!f) perror(p);
    return f;
}

/* ------------------------------------------------------------------ sections */

static int g_quick;

static void section_machine(void)
{
    md("## 1. Machine and parameters\n\n");
    if (g_quick)
        md("**This is a `--quick` smoke run** (an insecure N = 2^11 ring, small batches, one image per "
           "channel-wise row, short CKKS benchmarks): it checks that every step and this report work; "
           "its numbers are not measurements of anything.\n\n");
    const char *fm = txt("machine", "-", "cpu_family_model");
    md("| | |\n|---|---|\n");
    md("| CPU | %s (family/model %s) |\n", or_q(txt("machine", "-", "cpu_model")), or_q(fm));
    md("| SIMD flags | %s |\n", or_q(txt("machine", "-", "cpu_flags")));
    md("| cores / threads used | %s / %s |\n", f_int(num("machine", "-", "cores")),
       f_int(num("machine", "-", "threads")));
    md("| kernel set | %s |\n", or_q(txt("machine", "-", "kernel_set")));
    md("| memory | %s GiB |\n", f_num(num("machine", "-", "memory"), 1));
    md("| OS kernel | %s |\n", or_q(txt("machine", "-", "kernel")));
    md("| date (UTC) | %s |\n", or_q(txt("machine", "-", "date")));
    md("| git commit | %s |\n", or_q(txt("machine", "-", "git_commit")));
    md("| command | `make bench` (= `%s`) |\n", or_q(txt("machine", "-", "command")));
    const char *rnd = txt("machine", "-", "randomness");
    if (rnd && strcmp(rnd, "os"))
        md("| keys and encryption noise | experiment seed `%s` (BENCH_SEED; insecure, so that two runs "
           "decrypt to identical accuracies; BENCH_SEED=os for OS entropy) |\n", rnd);
    else if (rnd)
        md("| keys and encryption noise | OS entropy (BENCH_SEED=os): encrypted accuracies vary by a "
           "few images between runs |\n");
    double lmin = INFINITY, lmax = -INFINITY, wall = 0;
    for (size_t i = 0; i < g_n; i++) {
        if (strcmp(g_rows[i].bench, "step")) continue;
        double v = strtod(g_rows[i].value, NULL);
        if (!strcmp(g_rows[i].metric, "load_before")) {
            if (v < lmin) lmin = v;
            if (v > lmax) lmax = v;
        }
        if (!strcmp(g_rows[i].metric, "wall")) wall += v;
    }
    if (lmin <= lmax)
        md("| load average before each step | %.2f .. %.2f (1-minute; the benchmark's own threads "
           "count in it) |\n", lmin, lmax);
    md("| wall time of all steps | %.1f min |\n", wall / 60);
    md("\n");
    const char *ew = "model=element-kd batch=10000";
    const row *r = find("elementwise", g_quick ? "model=element-kd" : ew, "levels");
    if (r) {
        const char *p = r->params;
        md("Element-wise (BEAA) runs: `%s`: %s levels (one data prime per stage), scale 2^%s, "
           "128-bit secure by the HomomorphicEncryption.org table (log2(QP) includes the special "
           "primes; uniform ternary secret, sigma 3.2): bound %s bits at this N.\n",
           p, r->value, f_num(num("elementwise", g_quick ? "model=element-kd" : ew, "log_scale"), 0),
           f_num(num("elementwise", g_quick ? "model=element-kd" : ew, "security_bound"), 0));
    }
    r = find("channelwise", "model=channel", "levels");
    if (r)
        md("Channel-wise runs: `%s`: %s levels (two primes per stage: mask product and "
           "activation).\n", r->params, r->value);
    md("\nEvery number below was measured by this run; `results.csv` has every row "
       "(`benchmark,params,metric,value,unit`), `bench.log` the programs' progress output.\n\n");
}

static const unsigned fig7_batches[] = { 256, 1024, 2048, 4096, 8192, 10000, 16384 };

static void section_fig7(void)
{
    md("## 2. Figure 7: time against batch size (element-wise packing)\n\n");
    md("The shipped model (`models/fmnist-beaa.model`, element-wise activations trained with "
       "distillation) on one batch of B images: the Fashion-MNIST test set first, training images "
       "after its 10,000. One key generation per run; times are wall-clock on the threads above.\n\n");
    md("| batch | images (test + training) | encrypt | forward | decrypt | total | amortized per image | "
       "encrypted accuracy (test images) | agreement with plaintext | peak memory (planned / measured) |\n");
    md("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    FILE *d = dat("fig7.dat");
    if (d) fprintf(d, "# batch encrypt_s forward_s decrypt_s total_s amortized_ms\n");
    int points = 0;
    double t10k = NAN, t16k = NAN, fmin = INFINITY, fmax = 0;
    for (size_t i = 0; i < sizeof fig7_batches / sizeof *fig7_batches; i++) {
        char w[96];
        snprintf(w, sizeof w, "model=element-kd batch=%u", fig7_batches[i]);
        if (!find("elementwise", w, "planned_peak")) continue;
        double tot = num("elementwise", w, "total");
        if (isnan(tot)) {
            md("| %s | | | | | | | | | %s |\n", f_int(fig7_batches[i]), why_missing("elementwise", w));
            continue;
        }
        double enc = num("elementwise", w, "encrypt"), fwd = num("elementwise", w, "forward"),
               dec = num("elementwise", w, "decrypt"), am = num("elementwise", w, "amortized_per_image");
        md("| %s | %s + %s | %s | %s | %s | %s | **%s ms** | %s | %s | %s / %s GiB |\n",
           f_int(fig7_batches[i]), f_int(num("elementwise", w, "test_images")),
           f_int(num("elementwise", w, "train_fill_images")), f_time(enc), f_time(fwd), f_time(dec),
           f_time(tot), f_num(am, 2), f_pct(num("elementwise", w, "accuracy_encrypted_test")),
           f_pct(num("elementwise", w, "agreement")),
           f_num(num("elementwise", w, "planned_peak") / 1024, 2),
           f_num(num("elementwise", w, "peak_rss") / 1024, 2));
        if (d) fprintf(d, "%u %.3f %.3f %.3f %.3f %.4f\n", fig7_batches[i], enc, fwd, dec, tot, am);
        points++;
        if (fig7_batches[i] == 10000) t10k = am;
        if (fig7_batches[i] == 16384) t16k = am;
        if (fwd < fmin) fmin = fwd;
        if (fwd > fmax) fmax = fwd;
    }
    if (d) fclose(d);
    md("\n");
    if (points == 0) { md("No Figure 7 run in this folder.\n\n"); return; }
    if (points >= 2)
        md("The forward pass takes %s to %s over the batch sizes (max/min %.2f): its cost is set by "
           "the number of ciphertexts, not by how many slots hold images.\n", f_time(fmin),
           f_time(fmax), fmax / fmin);
    if (!isnan(t10k) && !isnan(t16k))
        md("Amortized time at 16,384 / at 10,000: **%.3f** (target <= 0.65; 10,000/16,384 = 0.61 "
           "if the total were exactly flat).\n", t16k / t10k);
    md("\n![total time per batch](fig7_total.png)\n\n![amortized time per image](fig7_amortized.png)\n\n");
    fprintf(g_gp,
            "set terminal pngcairo noenhanced size 900,540 font 'sans,11'\n"
            "set output '%s/fig7_total.png'\n"
            "set title 'Figure 7a: total time of one encrypted batch (element-wise packing, N = 2^15)'\n"
            "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.85 border -1\n"
            "set boxwidth 0.6\nset ylabel 'seconds'\nset xlabel 'batch size (images)'\nset key top left\n"
            "set grid ytics\nset yrange [0:*]\n"
            "plot '%s/fig7.dat' using 2:xtic(1) title 'client encrypt' lc rgb '#4C72B0', "
            "'' using 3 title 'server forward' lc rgb '#DD8452', '' using 4 title 'client decrypt' lc rgb '#55A868'\n"
            "unset style\nreset\n",
            g_dir, g_dir);
    fprintf(g_gp,
            "set terminal pngcairo noenhanced size 900,540 font 'sans,11'\n"
            "set output '%s/fig7_amortized.png'\n"
            "set title 'Figure 7b: amortized time per image (element-wise packing, N = 2^15)'\n"
            "set logscale xy 2\nset xlabel 'batch size (images)'\nset ylabel 'ms per image'\n"
            /* room around the points, so that the labels of the first and last batch (on the
             * autoscaled range's edges) are drawn */
            "set offsets graph 0.04, graph 0.04, graph 0.06, 0\n"
            "set grid\nset key off\nset format y '%%g'\n"
            "plot '%s/fig7.dat' using 1:6 with linespoints lw 2 pt 7 ps 1.3 lc rgb '#C44E52', "
            "'' using 1:6:(sprintf('%%.2f', $6)) with labels offset 0,1.2 notitle\nreset\n",
            g_dir, g_dir);
}

typedef struct t1row {
    const char *label;   /* the scheme as the paper names it */
    const char *model;   /* name= in the rows */
    int channelwise;     /* 1: channel-wise packing; 0: element-wise; -1: plaintext ReLU */
    int paper;           /* 1: a row of the paper's Table 1 */
} t1row;

static const t1row t1[] = {
    { "ReLU (plaintext)", "relu", -1, 1 },
    { "Layer-wise", "layer", 1, 1 },
    { "Channel-wise", "channel", 1, 1 },
    { "Element-wise (BEAA)", "element", 0, 1 },
    { "Channel-wise + KD", "channel-kd", 1, 1 },
    { "Element-wise + KD (BEAA, shipped)", "element-kd", 0, 1 },
    { "Layer-wise grain, element-wise packing", "layer", 0, 0 },
    { "Channel-wise grain, element-wise packing", "channel", 0, 0 },
    { "Layer-wise + KD grain, element-wise packing", "layer-kd", 0, 0 },
    { "Channel-wise + KD grain, element-wise packing", "channel-kd", 0, 0 },
};

static void ew_want(char *w, size_t n, const char *model)
{
    snprintf(w, n, "model=%s batch=%s", model, g_quick ? "1024" : "10000");
}

static void section_table1(void)
{
    md("## 3. Table 1 on Fashion-MNIST: accuracy and inference time per activation scheme\n\n");
    md("Every model has the same architecture and was trained by `make models` with one recipe "
       "(docs/training.md); they differ only in the activation grain and in distillation (KD). "
       "Element-wise packing runs the whole test set in one encrypted batch; channel-wise packing "
       "(one ciphertext per image and channel, convolutions by rotations) runs image after image, "
       "so those rows encrypt only the first few test images and show the plaintext accuracy of "
       "the same model on all 10,000 beside it. Plaintext accuracy is the model as trained "
       "(float32 weights, exact activations) on the 10,000 test images.\n\n");
    md("| scheme | packing | images encrypted | encrypted accuracy | plaintext accuracy (10,000) | "
       "agreement enc/plain | total time | time per image |\n");
    md("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof t1 / sizeof *t1; i++) {
        const t1row *r = &t1[i];
        char w[128], mw[96];
        snprintf(mw, sizeof mw, "model=%s", r->model);
        double plain = num("model", mw, "accuracy_plain_test");
        if (i == 6) md("| *rows no paper has: every grain under element-wise packing* | | | | | | | |\n");
        if (r->channelwise < 0) {
            md("| %s | none | - | - | %s | - | %s | %s |\n", r->label, f_pct(plain),
               f_time(num("model", mw, "plain_forward_test")),
               f_time(num("model", mw, "plain_per_image") / 1e3));
            continue;
        }
        if (r->channelwise) {
            snprintf(w, sizeof w, "model=%s", r->model);
            double tpi = num("channelwise", w, "time_per_image");
            if (isnan(tpi)) {
                md("| %s | channel-wise | | | %s | | %s | |\n", r->label, f_pct(plain),
                   find("channelwise", w, "rotation_keys") || find("channelwise", w, "skipped_needs_memory")
                       ? why_missing("channelwise", w) : "not run (step failed or missing)");
                continue;
            }
            double k = num("channelwise", w, "images");
            md("| %s | channel-wise | %s | %s | %s | %s | %s | %s |\n", r->label, f_int(k),
               f_pct(num("channelwise", w, "accuracy_encrypted_images")), f_pct(plain),
               f_pct(num("channelwise", w, "agreement")), f_time(num("channelwise", w, "total")),
               f_time(tpi / 1e3));
        } else {
            ew_want(w, sizeof w, r->model);
            double tot = num("elementwise", w, "total");
            if (isnan(tot)) {
                md("| %s | element-wise | | | %s | | %s | |\n", r->label, f_pct(plain),
                   why_missing("elementwise", w));
                continue;
            }
            double enc = num("elementwise", w, "accuracy_encrypted_test");
            md("| %s | element-wise | %s | %s | %s | %s | %s | %s (amortized) |\n", r->label,
               f_int(num("elementwise", w, "test_images")), f_pct(enc), f_pct(plain),
               f_pct(num("elementwise", w, "agreement")), f_time(tot),
               f_time(num("elementwise", w, "amortized_per_image") / 1e3));
        }
    }
    md("\n");
    /* the targets: element-wise + KD the most accurate polynomial model, within 0.5 of ReLU */
    const char *poly[] = { "layer", "channel", "element", "layer-kd", "channel-kd", "element-kd" };
    double relu = num("model", "model=relu", "accuracy_plain_test");
    FILE *d = dat("table1.dat");
    if (d) {
        fprintf(d, "# model plaintext_acc encrypted_acc(element-wise packing, whole test set)\n");
        fprintf(d, "relu %.4f NaN\n", 100 * relu);
        for (size_t i = 0; i < 6; i++) {
            char mw[64], w[128];
            snprintf(mw, sizeof mw, "model=%s", poly[i]);
            ew_want(w, sizeof w, poly[i]);
            fprintf(d, "%s %.4f %.4f\n", poly[i], 100 * num("model", mw, "accuracy_plain_test"),
                    100 * num("elementwise", w, "accuracy_encrypted_test"));
        }
        fclose(d);
    }
    double best = -1, ekd = num("model", "model=element-kd", "accuracy_plain_test");
    const char *best_name = NULL;
    md("Polynomial models by plaintext test accuracy:");
    for (size_t i = 0; i < 6; i++) {
        char mw[64];
        snprintf(mw, sizeof mw, "model=%s", poly[i]);
        double a = num("model", mw, "accuracy_plain_test");
        md(" %s %s%s", poly[i], f_pct(a), i < 5 ? "," : ".\n");
        if (a > best) { best = a; best_name = poly[i]; }
    }
    if (!isnan(ekd) && !isnan(relu) && best_name) {
        int top = !strcmp(best_name, "element-kd"), close = relu - ekd <= 0.005;
        md("Targets: element-wise + KD (%s) the most accurate polynomial model: %s; within 0.5 "
           "points of ReLU (%s): %.2f points %s, %s.\n", f_pct(ekd),
           top ? "**holds**" : "**does not hold**", f_pct(relu), 100 * fabs(relu - ekd),
           relu >= ekd ? "below" : "above", close ? "**holds**" : "**does not hold**");
        if (!top)
            md("The most accurate polynomial model here is %s at %s: the paper's ordering does not "
               "hold on this data set with this recipe.\n", best_name, f_pct(best));
    }
    md("\n![accuracy per scheme](table1_accuracy.png)\n\n");
    fprintf(g_gp,
            "set terminal pngcairo noenhanced size 1000,560 font 'sans,10'\n"
            "set output '%s/table1_accuracy.png'\n"
            "set title 'Table 1: Fashion-MNIST test accuracy per model (10,000 test images)'\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
            "set ylabel 'accuracy (%%)'\nset grid ytics\nset key outside bottom center horizontal\n"
            "stats '%s/table1.dat' using 2 nooutput\nrelu = %.4f\n"
            "set yrange [STATS_min - 1.0 : STATS_max + 0.5]\n"
            "plot '%s/table1.dat' using 2:xtic(1) title 'plaintext' lc rgb '#4C72B0', "
            "'' using 3 title 'encrypted (element-wise packing)' lc rgb '#C44E52', "
            "relu - 0.5 with lines dt 2 lw 2 lc rgb '#555555' title 'ReLU - 0.5 points'\nreset\n",
            g_dir, g_dir, 100 * relu, g_dir);
}

static void section_table3(void)
{
    md("## 4. Table 3: activation parameters and evaluations per scheme\n\n");
    md("Counted from the model files (`bench_models`); L activation layers with C channels of "
       "H x W elements each; sums over the layers. \"Evaluations\" are homomorphic activations: "
       "with channel-wise packing one ciphertext holds one channel of one image, with element-wise "
       "packing one ciphertext holds one element (c,h,w) of every image of the batch.\n\n");
    md("| scheme | parameters (paper) | parameters (model file) | evaluations (paper) | evaluations here |\n");
    md("|---|---|---:|---|---:|\n");
    struct { const char *label, *model, *fp, *fe; const char *metric; } s[] = {
        { "Layer-wise", "layer", "3 per layer", "C per layer and image", "formula_layer_3L" },
        { "Channel-wise", "channel", "3C per layer", "C per layer and image", "formula_channel_3sumC" },
        { "Element-wise (BEAA)", "element", "3CHW per layer", "CHW per layer, per batch",
          "formula_element_3sumCHW" },
    };
    for (int i = 0; i < 3; i++) {
        char mw[64];
        snprintf(mw, sizeof mw, "model=%s", s[i].model);
        double stored = num("model", mw, "activation_parameters");
        double formula = num("model", mw, s[i].metric);
        char ev[200];
        if (i < 2)
            snprintf(ev, sizeof ev, "%s per image", f_int(num("model", mw, "activations_channelwise_per_image")));
        else {
            double per = num("model", mw, "activations_elementwise_per_batch");
            double prod = num("model", mw, "products_elementwise_per_batch");
            snprintf(ev, sizeof ev, "%s per batch (%s computed: positions no layer reads are "
                     "dropped), %s per image at batch 10,000", f_int(per), f_int(prod),
                     f_num(prod / 10000, 2));
        }
        md("| %s | %s = %s | %s%s | %s | %s |\n", s[i].label, s[i].fp, f_int(formula), f_int(stored),
           !isnan(stored) && stored == formula ? "" : " (differs!)", s[i].fe, ev);
    }
    double L = num("model", "model=element", "activation_layers");
    md("\nL = %s activation layers. The trainable parameters of the whole network: %s (layer-wise), "
       "%s (channel-wise), %s (element-wise); ReLU %s. The element-wise coefficients add "
       "parameters but no ciphertext work: every scheme under element-wise packing costs the same "
       "(Table 1's last rows).\n\n", f_int(L), f_int(num("model", "model=layer", "trainable_parameters")),
       f_int(num("model", "model=channel", "trainable_parameters")),
       f_int(num("model", "model=element", "trainable_parameters")),
       f_int(num("model", "model=relu", "trainable_parameters")));
}

static void section_headline(void)
{
    md("## 5. The paper's headline, side by side\n\n");
    md("The paper measured CIFAR-10 on a 10-core Intel i9-10900X with Microsoft SEAL, batch 4096; "
       "this run is Fashion-MNIST on the machine above. The comparison that carries over is the "
       "ratio between the two packings on the same machine and model.\n\n");
    double cw = num("channelwise", "model=channel", "time_per_image") / 1e3;
    const char *b4 = g_quick ? "model=element-kd batch=1024" : "model=element-kd batch=4096";
    const char *b10 = g_quick ? "model=element-kd batch=1024" : "model=element-kd batch=10000";
    double am4 = num("elementwise", b4, "amortized_per_image") / 1e3;
    double am10 = num("elementwise", b10, "amortized_per_image") / 1e3;
    double am16 = num("elementwise", "model=element-kd batch=16384", "amortized_per_image") / 1e3;
    double cwp = num("model", "model=channel", "accuracy_plain_test");
    double ekd = num("model", "model=element-kd", "accuracy_plain_test");
    char w1[128], w2[128];
    ew_want(w1, sizeof w1, "element-kd");
    ew_want(w2, sizeof w2, "channel");
    double ekd_enc = num("elementwise", w1, "accuracy_encrypted_test");
    double cw_enc_ew = num("elementwise", w2, "accuracy_encrypted_test");
    md("| | paper (CIFAR-10, SEAL, 10 cores) | libbeaa (Fashion-MNIST, this machine) |\n|---|---|---|\n");
    md("| channel-wise packing, time per image | about 160 s | %s |\n", f_time(cw));
    md("| BEAA amortized time per image, batch 4096 | 0.765 s (3130 s per batch) | %s |\n", f_time(am4));
    md("| BEAA amortized time per image, batch 10,000 / 16,384 | - | %s / %s |\n", f_time(am10),
       f_time(am16));
    if (!isnan(cw) && !isnan(am4))
        md("| amortized time lower than channel-wise, batch 4096 | 99.5%% | %.2f%% (%.0fx) |\n",
           100 * (1 - am4 / cw), cw / am4);
    if (!isnan(cw) && !isnan(am10))
        md("| amortized time lower than channel-wise, batch 10,000 | - | %.3f%% (**%.0fx**; target >= 1,000x) |\n",
           100 * (1 - am10 / cw), cw / am10);
    md("| accuracy, element-wise + KD minus channel-wise | +1.65 points | %+.2f points (plaintext, "
       "10,000 images); %+.2f points encrypted (both under element-wise packing) |\n",
       100 * (ekd - cwp), 100 * (ekd_enc - cw_enc_ew));
    md("| ReLU accuracy | 87.3%% | %s |\n",
       f_pct(num("model", "model=relu", "accuracy_plain_test")));
    double pt = num("paper_cifar10", "geometry=3x32x32", "total");
    if (!isnan(pt))
        md("| the paper's geometry (3x32x32, random weights), batch 4096: total / per image | 3130 s / "
           "0.765 s | %s / %s (`make bench-paper`) |\n", f_time(pt),
           f_time(num("paper_cifar10", "geometry=3x32x32", "amortized_per_image")));
    md("\n");
}

/* CKKS operations: best ISA against ref in the same run. */
/* One path's cell of the linear-maps table: GMAC/s from cache (with the fraction of peak where
 * known), then with the inputs evicted first ("cold"), where the run has it; "-" without a rate */
static void path_cell(char *out, size_t len, double g, double frac, double cold)
{
    if (isnan(g)) {
        snprintf(out, len, "-");
        return;
    }
    int k = isnan(frac) ? snprintf(out, len, "%.2f GMAC/s", g)
                        : snprintf(out, len, "%.2f GMAC/s (%.0f%% of peak)", g, 100 * frac);
    if (!isnan(cold) && k > 0 && (size_t)k < len) snprintf(out + k, len - (size_t)k, ", cold %.2f", cold);
}

static void section_ckks(void)
{
    md("## 6. CKKS primitives and kernels against the portable kernels\n\n");
    const char *best = txt("machine", "-", "kernel_set");
    if (!best) best = "avx2";
    md("Single thread, thread CPU time; \"ref\" is the portable C kernel set (`BEAA_ARCH=ref`, "
       "the test oracle), measured in the same run. Median of repeats (minimum in brackets).\n\n");
    md("| operation | ring | ref | %s | ref / %s |\n|---|---|---:|---:|---:|\n", best, best);
    int rows = 0;
    char wbest[64];
    snprintf(wbest, sizeof wbest, "isa=%s", best);
    for (size_t i = 0; i < g_n; i++) {
        const row *r = &g_rows[i];
        if (strncmp(r->bench, "ckks_", 5) || strcmp(r->metric, "median_time") ||
            !params_match(r->params, wbest))
            continue;
        /* the same op and parameters with isa=ref */
        char p[512];
        snprintf(p, sizeof p, "%s", r->params);
        char *isa = strstr(p, ";isa=");
        if (isa) *isa = 0;
        char want_ref[600], want_best[600];
        snprintf(want_ref, sizeof want_ref, "%s isa=ref", p);
        snprintf(want_best, sizeof want_best, "%s %s", p, wbest);
        for (char *c = want_ref; *c; c++) if (*c == ';') *c = ' ';
        for (char *c = want_best; *c; c++) if (*c == ';') *c = ' ';
        double t = strtod(r->value, NULL), tmin = num(r->bench, want_best, "min_time");
        double tr = num(r->bench, want_ref, "median_time");
        char ring[64];
        snprintf(ring, sizeof ring, "%.*s", (int)strcspn(p, ";"), p);
        md("| %s | %s | %s ms | %s ms (%s) | %s |\n", r->bench + 5, ring, f_num(tr, 3), f_num(t, 3),
           f_num(tmin, 3), isnan(tr) ? "-" : f_num(tr / t, 2));
        rows++;
    }
    if (!rows) md("| (no CKKS rows in this run) | | | | |\n");
    md("\nThe precision rows (log2 of the max error against plaintext doubles) are in results.csv "
       "(`log2_max_err`).\n\n");

    md("Kernels (`bench_kernels`, single thread, minimum of repeats, 50-bit primes):\n\n");
    md("| kernel | N | ref | avx2 | avx512 (IFMA) |\n|---|---:|---:|---:|---:|\n");
    FILE *d = dat("kernels.dat");
    if (d) fprintf(d, "# kernel avx2_speedup avx512_speedup (N=16384, 50-bit)\n");
    rows = 0;
    for (size_t i = 0; i < g_n; i++) {
        const row *r = &g_rows[i];
        if (strcmp(r->metric, "min") || !params_match(r->params, "isa=ref q=50bit")) continue;
        char n[32] = "";
        sscanf(r->params, "N=%31s", n);
        char w2[96], w5[96];
        snprintf(w2, sizeof w2, "N=%s q=50bit isa=avx2", n);
        snprintf(w5, sizeof w5, "N=%s q=50bit isa=avx512", n);
        double tr = strtod(r->value, NULL), t2 = num(r->bench, w2, "min"), t5 = num(r->bench, w5, "min");
        char c2[64], c5[64];
        snprintf(c2, sizeof c2, isnan(t2) ? "-" : "%.1f us (%.2fx)", t2, tr / t2);
        snprintf(c5, sizeof c5, isnan(t5) ? "-" : "%.1f us (%.2fx)", t5, tr / t5);
        md("| %s | %s | %.1f us | %s | %s |\n", r->bench, n, tr, c2, c5);
        if (d && !strcmp(n, "16384"))
            fprintf(d, "%s %.3f %.3f\n", r->bench, isnan(t2) ? 0 : tr / t2, isnan(t5) ? 0 : tr / t5);
        rows++;
    }
    if (d) fclose(d);
    if (!rows) md("| (no kernel rows in this run) | | | | |\n");
    md("\n![kernel speedups](kernels_speedup.png)\n\n");
    /* the linear maps (bench_linear): one group of each stage, every path the machine has */
    double rate = num("linear", "-", "ifma_instructions_per_s");
    double frate = num("linear", "-", "fma256_instructions_per_s");
    rows = 0;
    for (size_t i = 0; i < g_n; i++) {
        const row *r = &g_rows[i];
        if (strcmp(r->bench, "linear") || strcmp(r->metric, "macs")) continue;
        if (!rows)
            md("Linear maps (`bench_linear`, one group of outputs of each stage of the network over "
               "N/8 coefficients of one limb, in the pass's windows of 512 coefficients, single "
               "thread, minimum): the exact dgemm of split residues, "
               "the one-pass AVX2 FMA loop (`nn/linear_fma.c`) and the kernel table's lin_dot "
               "(AVX-512 IFMA); each cell is the rate with the inputs in cache, then (\"cold\") "
               "with them evicted first, as the encrypted pass reads them from memory%s%s.\n\n| group | MACs | bytes | dgemm | avx2-fma | lin_dot | "
               "dgemm / fastest |\n|---|---:|---:|---:|---:|---:|---:|\n",
               isnan(frate) ? "" : "; the avx2-fma path's \"of peak\" is against two 4-lane FMAs "
                                   "per 4 products at the FMA rate of a tight loop",
               rate > 0 ? "; lin_dot's and dgemm's against 4 products per IFMA-instruction slot "
                          "(measured by an IFMA loop): two 8-lane multiplies per product, as the "
                          "split dgemm and a plain IFMA product take; on AMD cores lin_dot's "
                          "Winograd pairs take one and can pass 100%" : "");
        char p[300], wg[400], wd[400], wf[400];
        snprintf(p, sizeof p, "%s", r->params);
        for (char *q = p; *q; q++) if (*q == ';') *q = ' ';
        snprintf(wg, sizeof wg, "%s path=dgemm", p);
        snprintf(wf, sizeof wf, "%s path=avx2-fma", p);
        const char *dot = txt("machine", "-", "kernel_set");
        snprintf(wd, sizeof wd, "%s path=%s", p, dot ? dot : "avx512");
        double gg = num("linear", wg, "gmacs"), gd = num("linear", wd, "gmacs");
        double gf = num("linear", wf, "gmacs");
        double fg = num("linear", wg, "fraction_of_peak"), fd = num("linear", wd, "fraction_of_peak");
        double ff = num("linear", wf, "fraction_of_peak");
        char sg[96], sd[96], sf[96];
        path_cell(sg, sizeof sg, gg, fg, num("linear", wg, "cold_gmacs"));
        path_cell(sd, sizeof sd, gd, fd, num("linear", wd, "cold_gmacs"));
        path_cell(sf, sizeof sf, gf, ff, num("linear", wf, "cold_gmacs"));
        double best = gg;
        if (!isnan(gd) && gd > best) best = gd;
        if (!isnan(gf) && gf > best) best = gf;
        md("| %.*s | %s | %s KiB | %s | %s | %s | %s |\n", (int)strcspn(r->params, ";"), r->params,
           f_int(strtod(r->value, NULL)), f_num(num("linear", p, "bytes_read_written"), 0), sg, sf,
           sd, best > gg ? f_num(best / gg, 2) : "-");
        rows++;
    }
    if (rows) md("\n");
    fprintf(g_gp,
            "set terminal pngcairo noenhanced size 1000,540 font 'sans,10'\n"
            "set output '%s/kernels_speedup.png'\n"
            "set title 'Kernels: speedup over the portable C kernels (N = 2^14, 50-bit primes, one thread)'\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset ylabel 'x faster than ref'\n"
            "set grid ytics\nset yrange [0:*]\nset xtics rotate by -35 left\nset bmargin 7\nset rmargin 6\n"
            "plot '%s/kernels.dat' using 2:xtic(1) title 'avx2' lc rgb '#4C72B0', "
            "'' using 3 title 'avx512 (IFMA)' lc rgb '#C44E52'\nreset\n",
            g_dir, g_dir);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_report DIR   (reads DIR/results.csv, writes DIR/report.md)\n");
        return 2;
    }
    g_dir = argv[1];
    char p[1024];
    snprintf(p, sizeof p, "%s/results.csv", g_dir);
    if (load(p)) return 1;
    g_quick = num("machine", "-", "quick") == 1;
    snprintf(p, sizeof p, "%s/report.md", g_dir);
    g_md = fopen(p, "w");
    snprintf(p, sizeof p, "%s/plots.gp", g_dir);
    g_gp = fopen(p, "w");
    if (!g_md || !g_gp) { perror(p); return 1; }
    md("# libbeaa benchmark report: the BEAA paper's experiments on this machine\n\n");
    md("Made by `make bench` (scripts/bench.sh, then bench/bench_report.c); docs/bench.md explains "
       "how to read each table and plot.\n\n");
    section_machine();
    section_fig7();
    section_table1();
    section_table3();
    section_headline();
    section_ckks();
    fclose(g_gp);
    /* the plots: gnuplot from Debian (scripts/deps.sh installs it) */
    snprintf(p, sizeof p, "gnuplot '%s/plots.gp' 2>&1", g_dir);
    FILE *g = popen(p, "r");
    int plotted = 0;
    if (g) {
        char line[512];
        while (fgets(line, sizeof line, g)) fprintf(stderr, "gnuplot: %s", line);
        plotted = pclose(g) == 0;
    }
    if (!plotted)
        md("---\nThe plots were not made: `gnuplot` failed or is missing (install it as root with "
           "`sh scripts/deps.sh`); the data files (.dat) and `plots.gp` are in this folder.\n");
    fclose(g_md);
    fprintf(stderr, "bench_report: %s/report.md%s\n", g_dir, plotted ? " and plots" : " (no plots)");
    return 0;
}
