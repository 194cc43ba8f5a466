# Test vectors for test/unit/gates/sequential.test.ts, computed once with python3's
# standard library (no scipy): `python3 test/unit/gates/ssrm-vectors.py`.
#
# 1. ssrm (Michael Lindon, github.com/michaellindon/ssrm, ssrm_test/ssrm_test.py):
#    the sequential Bayes factor of a Dirichlet-multinomial mixture against a fixed
#    multinomial null, accumulated per data point exactly as its `accumulator` does:
#    log BF += log_posterior_predictive(n, alpha_post) - multinomiallogpmf(n, sum n, p0),
#    alpha_post += n, with dirichlet_alpha = dirichlet_probability * concentration and
#    dirichlet_probability = the null probabilities (ssrm's default). Two arms here:
#    [gray errors, stable errors] with null probabilities [s, 1-s].
# 2. gray's own one-sided mixtures recomputed from their definitions (not from gray's code):
#    the comparison test's half-normal (sd 0.6) over log(rho/r) on the grid r*2^(j/8),
#    j = 1..48, and the SLO test's half-normal (sd 1) over log-odds above logit(limit).
import json
from math import lgamma, log, log1p, exp, sqrt

def log_posterior_predictive(n, alpha):
    return (lgamma(sum(n) + 1) - sum(lgamma(x + 1) for x in n) + lgamma(sum(alpha)) - sum(lgamma(a) for a in alpha)
            + sum(lgamma(a + x) for a, x in zip(alpha, n)) - lgamma(sum(a + x for a, x in zip(alpha, n))))

def xlogy(x, y):
    return 0.0 if x == 0 else x * log(y)

def multinomiallogpmf(x, n, p):
    return lgamma(n + 1) + sum(xlogy(xi, pi) - lgamma(xi + 1) for xi, pi in zip(x, p))

def ssrm_log_bfs(data, p0, concentration):
    alpha = [p * concentration for p in p0]
    lbf, out = 0.0, []
    for n in data:
        lbf += log_posterior_predictive(n, alpha) - multinomiallogpmf(n, sum(n), p0)
        alpha = [a + x for a, x in zip(alpha, n)]
        out.append(lbf)
    return out

H, J = log(2) / 8, 48

def logsumexp(xs):
    m = max(xs)
    return m + log(sum(exp(x - m) for x in xs))

def half_normal(sd):
    raw = [-((j * H) ** 2) / (2 * sd * sd) for j in range(1, J + 1)]
    z = logsumexp(raw)
    return [w - z for w in raw]

def comparison_log_e(intervals, r):
    # intervals: (gray errors, gray total, stable errors, stable total)
    ll = [0.0] * J
    for x, ng, y, ns in intervals:
        s = ng / (ng + ns)
        th0 = s * r / (s * r + 1 - s)
        for k, j in enumerate(range(1, J + 1)):
            rho = r * exp(j * H)
            th = s * rho / (s * rho + 1 - s)
            ll[k] += x * log(th / th0) + y * log((1 - th) / (1 - th0))
    return logsumexp([w + l for w, l in zip(half_normal(0.6), ll)])

def slo_log_e(bad, total, limit):
    base = log(limit / (1 - limit))
    terms = []
    for w, j in zip(half_normal(1.0), range(1, J + 1)):
        th = 1 / (1 + exp(-(base + j * H)))
        terms.append(w + bad * log(th / limit) + (total - bad) * (log1p(-th) - log1p(-limit)))
    return logsumexp(terms)

cases = [
    {"s": 0.5, "concentration": 100, "data": [[3, 2], [0, 0], [7, 4], [12, 5], [9, 9]]},
    {"s": 0.1, "concentration": 100, "data": [[1, 12], [4, 30], [0, 9], [6, 25]]},
    {"s": 0.2, "concentration": 50, "data": [[10, 10], [8, 12], [15, 20]]},
]
for c in cases:
    c["logBF"] = ssrm_log_bfs(c["data"], [c["s"], 1 - c["s"]], c["concentration"])
    a, b = c["s"] * c["concentration"], (1 - c["s"]) * c["concentration"]
    c["logBeta"] = lgamma(a) + lgamma(b) - lgamma(a + b)

comparisons = [
    {"r": 1, "intervals": [[5, 600, 40, 5400], [7, 600, 52, 5400]]},
    {"r": 1.5, "intervals": [[3, 60, 55, 5940], [30, 600, 60, 5400], [160, 3000, 28, 3000]]},
    {"r": 2, "intervals": [[0, 600, 60, 5400]]},
]
for c in comparisons:
    c["logE"] = comparison_log_e(c["intervals"], c["r"])

slos = [{"bad": 3, "total": 100, "limit": 0.01}, {"bad": 30, "total": 1000, "limit": 0.01}, {"bad": 5, "total": 1000, "limit": 0.01}, {"bad": 80, "total": 1000, "limit": 0.05}]
for c in slos:
    c["logE"] = slo_log_e(c["bad"], c["total"], c["limit"])

print(json.dumps({"ssrm": cases, "comparison": comparisons, "slo": slos}, indent=1))
