#!/usr/bin/env python3
"""Writes derivatives.csv: 40-digit reference values of f, f', f'' (unary operations) and of
f, the gradient and the Hessian (binary operations) at f64 points, for ad/tests/accuracy.rs.

Regenerate with `python3 ad/tests/reference/generate_derivatives.py` (needs mpmath). Each
point is an exact f64 (converted to mpmath without rounding); every value is rounded once to
the nearest f64 and written with 17 significant digits (repr). Rows whose value or any
derivative overflows f64 or is subnormal (where f64 has no full relative precision) are left
out: the bar is on values that are finite and representable.
"""
import os
import mpmath as mp

mp.mp.dps = 60
HERE = os.path.dirname(os.path.abspath(__file__))

def logistic(x):
    return 1 / (1 + mp.exp(-x))

def ncdf(x):
    return mp.erfc(-x / mp.sqrt(2)) / 2

def npdf(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)

def sech2(x):
    return 1 / mp.cosh(x) ** 2

def mills_offset_cf(x):
    """x + φ(x)/Φ(x) for x <= -10 by Laplace's continued fraction at working precision
    (mpmath's erfc is slow or fails at huge arguments): 1/(y + 2/(y + 3/(y + ...))), y = -x."""
    y = -x
    t = mp.mpf(0)
    for k in range(400, 1, -1):
        t = k / (y + t)
    return 1 / (y + t)

def inv_mills(x):
    if x <= -10:
        return -x + mills_offset_cf(x)
    return npdf(x) / ncdf(x)

def log_ncdf(x):
    # ln Φ = ln φ - ln(φ/Φ).
    if x <= -10:
        return -x * x / 2 - mp.log(mp.sqrt(2 * mp.pi)) - mp.log(inv_mills(x))
    return mp.log(ncdf(x))

def mills_offset(x):
    return mills_offset_cf(x) if x <= -10 else x + inv_mills(x)

def cot_pi_derivative(n, x):
    """d^n/dx^n cot(πx) = π^n P_n(cot πx), P_0(c) = c, P_{k+1}(c) = -(1 + c²) P_k'(c)."""
    coeffs = [0, 1]
    for _ in range(n):
        deriv = [j * coeffs[j] for j in range(1, len(coeffs))]
        nxt = [0] * (len(deriv) + 2)
        for j, d in enumerate(deriv):
            nxt[j] -= d
            nxt[j + 2] -= d
        coeffs = nxt
    c = mp.cot(mp.pi * x)
    return mp.pi ** n * sum(a * c ** j for j, a in enumerate(coeffs))

def psi(n, x):
    """ψ^(n)(x); for x < 0 by reflection (mpmath is very slow at large negative x)."""
    if x < 0:
        return (-1) ** n * mp.polygamma(n, 1 - x) - mp.pi * cot_pi_derivative(n, x)
    return mp.polygamma(n, x)

# name: (f, f', f'', points). Derivatives are written analytically (mpmath's numerical
# differentiation is slow and unreliable next to singularities and at huge arguments).
UNARY = {
    "exp": (mp.exp, mp.exp, mp.exp, [-700, -30, -1, -1e-8, 0, 1e-10, 0.5, 3, 50, 700]),
    "ln": (mp.log, lambda x: 1 / x, lambda x: -1 / x**2,
           [1e-300, 1e-10, 0.5, 1 - 2**-40, 1, 1 + 2**-40, 7, 1e10, 1e150]),
    "sqrt": (mp.sqrt, lambda x: 1 / (2 * mp.sqrt(x)), lambda x: -1 / (4 * x * mp.sqrt(x)),
             [1e-200, 1e-10, 0.25, 2, 1e10, 1e300]),
    "sin": (mp.sin, mp.cos, lambda x: -mp.sin(x), [-10, -1, -1e-9, 1e-9, 0.5, 1, 3, 100]),
    "cos": (mp.cos, lambda x: -mp.sin(x), lambda x: -mp.cos(x), [-10, -1, -1e-9, 1e-9, 0.5, 1, 3, 100]),
    "tan": (mp.tan, lambda x: 1 + mp.tan(x)**2, lambda x: 2 * mp.tan(x) * (1 + mp.tan(x)**2),
            [-1.5, -1, -1e-9, 1e-9, 0.5, 1, 1.5]),
    "tanh": (mp.tanh, sech2, lambda x: -2 * mp.tanh(x) * sech2(x),
             [-30, -19.5, -10, -1, -1e-9, 1e-9, 0.5, 1, 10, 19.1, 25, 300]),
    "sinh": (mp.sinh, mp.cosh, mp.sinh, [-30, -1, -1e-9, 1e-9, 0.5, 3, 300]),
    "cosh": (mp.cosh, mp.sinh, mp.cosh, [-30, -1, -1e-9, 1e-9, 0.5, 3, 300]),
    "asin": (mp.asin, lambda x: 1 / mp.sqrt(1 - x * x), lambda x: x / (1 - x * x) ** 1.5,
             [-1 + 2**-30, -0.9, -1e-9, 0.5, 0.999999, 1 - 2**-30, 1 - 2**-45]),
    "acos": (mp.acos, lambda x: -1 / mp.sqrt(1 - x * x), lambda x: -x / (1 - x * x) ** 1.5,
             [-1 + 2**-30, -0.9, -1e-9, 0.5, 0.999999, 1 - 2**-30, 1 - 2**-45]),
    "atan": (mp.atan, lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
             [-1e10, -3, -1e-9, 0.5, 1, 7, 1e10]),
    "asinh": (mp.asinh, lambda x: 1 / mp.sqrt(1 + x * x), lambda x: -x / (1 + x * x) ** 1.5,
              [-1e100, -3, -1e-9, 0.5, 7, 1e10, 1.5e154, 1e200]),
    "acosh": (mp.acosh, lambda x: 1 / mp.sqrt(x * x - 1), lambda x: -x / (x * x - 1) ** 1.5,
              [1 + 2**-45, 1 + 2**-30, 1.5, 7, 1e10, 1e100, 1.5e154, 1e200]),
    "atanh": (mp.atanh, lambda x: 1 / (1 - x * x), lambda x: 2 * x / (1 - x * x) ** 2,
              [-1 + 2**-30, -0.9, -1e-9, 0.5, 0.999999, 1 - 2**-30, 1 - 2**-45]),
    "exp_m1": (mp.expm1, mp.exp, mp.exp, [-30, -1, -1e-9, 1e-9, 0.5, 3, 50]),
    "ln_1p": (mp.log1p, lambda x: 1 / (1 + x), lambda x: -1 / (1 + x) ** 2,
              [-1 + 2**-40, -0.5, -1e-9, 1e-9, 0.5, 3, 1e10]),
    "cbrt": (lambda x: mp.sign(x) * mp.cbrt(abs(x)),
             lambda x: 1 / (3 * mp.cbrt(x * x)),
             lambda x: -2 / (9 * mp.sign(x) * mp.cbrt(abs(x)) ** 5),
             [-1e10, -3, -1e-9, 1e-9, 0.5, 3, 1e10]),
    "recip": (lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3,
              [-1e10, -3, -1e-9, 1e-9, 0.5, 3, 1e10]),
    "softplus": (lambda x: mp.log1p(mp.exp(x)), lambda x: logistic(x),
                 lambda x: logistic(x) * logistic(-x),
                 [-700, -30, -1, -1e-17, 0, 1e-17, 1, 30, 700]),
    "logistic": (logistic, lambda x: logistic(x) * logistic(-x),
                 lambda x: logistic(x) * logistic(-x) * (1 - 2 * logistic(x)),
                 [-700, -30, -1, -1e-17, 1e-17, 1e-8, 1, 30, 700]),
    "log_logistic": (lambda x: -mp.log1p(mp.exp(-x)), lambda x: logistic(-x),
                     lambda x: -logistic(x) * logistic(-x),
                     [-700, -30, -1, -1e-17, 1e-17, 1, 30, 700]),
    "ln_gamma": (lambda x: mp.log(abs(mp.gamma(x))), lambda x: psi(0, x), lambda x: psi(1, x),
                 [-2.5, -0.5, 1e-8, 0.5, 1, 1.5, 2, 7.5, 100, 1e6]),
    "digamma": (lambda x: psi(0, x), lambda x: psi(1, x), lambda x: psi(2, x),
                [-1e8 - 0.5, -1e4 - 0.5, -2.5, -0.5, 0.5, 1.4616321449683623, 3, 100, 1e6]),
    "polygamma1": (lambda x: psi(1, x), lambda x: psi(2, x), lambda x: psi(3, x), [-1e8 - 0.5, -2.5, -0.5, 0.5, 3, 100, 1e6]),
    "polygamma2": (lambda x: psi(2, x), lambda x: psi(3, x), lambda x: psi(4, x), [-1e8 - 0.5, -2.5, -0.5, 0.5, 3, 100]),
    "erf": (mp.erf, lambda x: 2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
            lambda x: -4 * x / mp.sqrt(mp.pi) * mp.exp(-x * x), [-5, -1, -1e-9, 1e-9, 0.5, 1, 3, 5]),
    "erfc": (mp.erfc, lambda x: -2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
             lambda x: 4 * x / mp.sqrt(mp.pi) * mp.exp(-x * x), [-5, -1, -1e-9, 0.5, 1, 3, 10, 26]),
    "norm_cdf": (ncdf, npdf, lambda x: -x * npdf(x), [-37, -20, -5, -1, 0, 0.5, 3, 8]),
    "log_norm_cdf": (log_ncdf, inv_mills, lambda x: -inv_mills(x) * mills_offset(x),
                     [-1e200, -1.3e154, -1e10, -1e8, -1e5, -1e3, -38, -20, -10, -5, -3.5, -3,
                      -2.9, -1, 0, 1, 5, 8]),
    "powi_m1": (lambda x: x**-1, lambda x: -x**-2, lambda x: 2 * x**-3, [1e-100, 1e-10, 0.5, 3, 1e100]),
    "powi_m3": (lambda x: x**-3, lambda x: -3 * x**-4, lambda x: 12 * x**-5, [1e-60, 0.5, 3, 1e60]),
    "powi_3": (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, [-1e50, -3, 1e-50, 0.5, 3, 1e50]),
    "exp2": (lambda x: mp.power(2, x), lambda x: mp.power(2, x) * mp.log(2),
             lambda x: mp.power(2, x) * mp.log(2) ** 2, [-1000, -1, 0.5, 3, 1000]),
    "log2": (lambda x: mp.log(x, 2), lambda x: 1 / (x * mp.log(2)), lambda x: -1 / (x * x * mp.log(2)),
             [1e-150, 0.5, 1 + 2**-40, 3, 1e150]),
    "log10": (lambda x: mp.log(x, 10), lambda x: 1 / (x * mp.log(10)), lambda x: -1 / (x * x * mp.log(10)),
              [1e-150, 0.5, 1 + 2**-40, 3, 1e150]),
}

def lae(a, b):
    return mp.log(mp.exp(a) + mp.exp(b))

def lae_grad(a, b):
    return logistic(a - b), logistic(b - a)

# name: (f, [df/dx, df/dy], [d2f/dx2, d2f/dxdy, d2f/dy2], points)
BINARY = {
    "powf": (mp.power,
             [lambda x, y: y * mp.power(x, y - 1), lambda x, y: mp.power(x, y) * mp.log(x)],
             [lambda x, y: y * (y - 1) * mp.power(x, y - 2),
              lambda x, y: mp.power(x, y - 1) * (1 + y * mp.log(x)),
              lambda x, y: mp.power(x, y) * mp.log(x) ** 2],
             [(2, 0), (2, 0.5), (0.5, 2.5), (3, -1.5), (1e100, 1.5), (1e100, 2), (7, 1e-8),
              (1 + 2**-30, 1e6)]),
    "log_add_exp": (lae, [lambda a, b: lae_grad(a, b)[0], lambda a, b: lae_grad(a, b)[1]],
                    [lambda a, b: logistic(a - b) * logistic(b - a),
                     lambda a, b: -logistic(a - b) * logistic(b - a),
                     lambda a, b: logistic(a - b) * logistic(b - a)],
                    [(1e15, 1e15), (1e10, 1e10), (1e10, 1e10 - 1), (-1e5, -1e5 - 1), (0, 0),
                     (-3, 2), (30, -30), (700, 0)]),
    "atan2": (mp.atan2, [lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y)],
              [lambda y, x: -2 * x * y / (x * x + y * y) ** 2,
               lambda y, x: (y * y - x * x) / (x * x + y * y) ** 2,
               lambda y, x: 2 * x * y / (x * x + y * y) ** 2],
              [(1, 1), (-2, 0.5), (1e-9, 1), (3, -4)]),
    "hypot": (lambda x, y: mp.sqrt(x * x + y * y),
              [lambda x, y: x / mp.sqrt(x * x + y * y), lambda x, y: y / mp.sqrt(x * x + y * y)],
              [lambda x, y: y * y / (x * x + y * y) ** 1.5, lambda x, y: -x * y / (x * x + y * y) ** 1.5,
               lambda x, y: x * x / (x * x + y * y) ** 1.5],
              [(3, 4), (1e-9, 1), (1e100, 1e99), (-2, 0.5)]),
}

def representable(v):
    v = mp.mpf(v)
    return v == 0 or (mp.mpf(2.2250738585072014e-308) <= abs(v) < mp.mpf(1.7976931348623157e308))

def rep(v):
    return repr(float(v))

def main():
    rows = []
    for name, (f, d1, d2, points) in UNARY.items():
        for p in points:
            x = mp.mpf(float(p))
            vals = [f(x), d1(x), d2(x)]
            if all(representable(v) for v in vals):
                rows.append(",".join([name, rep(x), ""] + [rep(v) for v in vals] + ["", "", ""]))
    for name, (f, grad, hess, points) in BINARY.items():
        for (a, b) in points:
            x, y = mp.mpf(float(a)), mp.mpf(float(b))
            vals = [f(x, y)] + [g(x, y) for g in grad] + [h(x, y) for h in hess]
            if all(representable(v) for v in vals):
                rows.append(",".join([name, rep(x), rep(y)] + [rep(v) for v in vals]))
    with open(os.path.join(HERE, "derivatives.csv"), "w") as out:
        out.write("# op,x,y,f,d1 or df/dx,d2 or df/dy,d2f/dx2,d2f/dxdy,d2f/dy2"
                  " (written by generate_derivatives.py)\n")
        out.write("\n".join(rows) + "\n")
    print(len(rows), "rows")

main()
