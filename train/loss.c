/* loss.c - softmax cross-entropy and the knowledge-distillation loss
 * lambda*T^2*KL(softmax(t/T) || softmax(s/T)) + (1-lambda)*CE(s, y), with their gradients
 * w.r.t. the student logits. Softmax in double with the max subtracted. */
#include "train/layers.h"

#include <math.h>

/* p (K) <- softmax(z/T); returns log-sum-exp of z/T */
static double softmax_T(double *p, const float *z, int K, double T)
{
    double mx = z[0] / T;
    for (int k = 1; k < K; k++) mx = z[k] / T > mx ? z[k] / T : mx;
    double s = 0;
    for (int k = 0; k < K; k++) {
        p[k] = exp(z[k] / T - mx);
        s += p[k];
    }
    for (int k = 0; k < K; k++) p[k] /= s;
    return mx + log(s);
}

double beaa_train_ce_loss(float *dlogits, const float *logits, const unsigned char *labels,
                          int B, int K)
{
    double p[BEAA_MODEL_MAX_CLASSES];
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        double lse = softmax_T(p, z, K, 1.0);
        loss += lse - z[labels[b]];
        if (dlogits)
            for (int k = 0; k < K; k++)
                dlogits[(size_t)b * K + k] += (float)((p[k] - (k == labels[b])) / B);
    }
    return loss / B;
}

double beaa_train_kd_loss(float *dlogits, const float *slogits, const float *tlogits,
                          const unsigned char *labels, int B, int K, float lambda, float T)
{
    double ps[BEAA_MODEL_MAX_CLASSES], pt[BEAA_MODEL_MAX_CLASSES];
    double kl = 0;
    for (int b = 0; b < B; b++) {
        const float *s = slogits + (size_t)b * K, *t = tlogits + (size_t)b * K;
        double lses = softmax_T(ps, s, K, T);
        double lset = softmax_T(pt, t, K, T);
        for (int k = 0; k < K; k++) {
            /* log pt - log ps = (t/T - lset) - (s/T - lses) */
            if (pt[k] > 0) kl += pt[k] * ((t[k] / T - lset) - (s[k] / T - lses));
            /* d/ds_k of T^2 * KL = T * (ps_k - pt_k) */
            if (dlogits)
                dlogits[(size_t)b * K + k] += (float)(lambda * T * (ps[k] - pt[k]) / B);
        }
    }
    double loss = lambda * (double)T * T * kl / B;
    if (lambda < 1.0f) {
        if (dlogits) {
            /* CE part scaled by (1-lambda): compute into a scratch then add scaled */
            double p[BEAA_MODEL_MAX_CLASSES];
            double ce = 0;
            for (int b = 0; b < B; b++) {
                const float *z = slogits + (size_t)b * K;
                double lse = softmax_T(p, z, K, 1.0);
                ce += lse - z[labels[b]];
                for (int k = 0; k < K; k++)
                    dlogits[(size_t)b * K + k] +=
                        (float)((1.0 - lambda) * (p[k] - (k == labels[b])) / B);
            }
            loss += (1.0 - lambda) * ce / B;
        } else {
            loss += (1.0 - lambda) * beaa_train_ce_loss(NULL, slogits, labels, B, K);
        }
    }
    return loss;
}
