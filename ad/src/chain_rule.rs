//! The chain rule, written once for every differentiable type.
//!
//! A differentiable scalar only has to say how to build a result from a primal value and the
//! local partial derivatives with respect to one or two operands ([`Chain`]). Every
//! elementary function (`exp`, `ln_gamma`, `powf`, the operators, …) is then defined here once,
//! in terms of the primal type's own operations, so forward duals (whose primal may itself be a
//! dual: that is how nesting gives higher derivatives) and reverse-mode variables share one
//! table of derivatives.

/// How a differentiable scalar applies the chain rule.
pub(crate) trait Chain: Copy {
    /// The type of the primal value (`f64` for tape variables, `T` for `DualVec<T, N>`).
    type Primal: crate::Scalar;
    /// The primal value.
    fn primal(self) -> Self::Primal;
    /// A constant.
    fn lift(primal: Self::Primal) -> Self;
    /// The result `value` of a function of `self` whose derivative there is `deriv`.
    fn chain(self, value: Self::Primal, deriv: Self::Primal) -> Self;
    /// The result `value` of a function of `self` and `other` with partials `d_self`, `d_other`.
    fn chain2(
        self,
        other: Self,
        value: Self::Primal,
        d_self: Self::Primal,
        d_other: Self::Primal,
    ) -> Self;
    /// `self + c` for a constant `c`, whose value is `value`: derivative 1, so a tape
    /// variable can share `self`'s node instead of recording one.
    #[inline]
    fn shift(self, value: Self::Primal) -> Self {
        self.chain(value, <Self::Primal as num_traits::One>::one())
    }
}

/// Implements operators, comparisons and the `num-traits` traits (`Float` and what it needs)
/// for a type implementing [`Chain`]. Usage: `impl_via_chain!(impl [generics] Type);`.
macro_rules! impl_via_chain {
    (impl [$($g:tt)*] $ty:ty) => {
        impl<$($g)*> core::cmp::PartialEq for $ty {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::chain_rule::Chain::primal(*self) == $crate::chain_rule::Chain::primal(*other)
            }
        }
        impl<$($g)*> core::cmp::PartialOrd for $ty {
            #[inline]
            fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
                $crate::chain_rule::Chain::primal(*self)
                    .partial_cmp(&$crate::chain_rule::Chain::primal(*other))
            }
        }
        impl<$($g)*> core::ops::Neg for $ty {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(-p, -<<Self as Chain>::Primal as num_traits::One>::one())
            }
        }
        impl<$($g)*> core::ops::Add for $ty {
            type Output = Self;
            #[inline]
            fn add(self, rhs: Self) -> Self {
                use $crate::chain_rule::Chain;
                let one = <<Self as Chain>::Primal as num_traits::One>::one();
                self.chain2(rhs, self.primal() + rhs.primal(), one, one)
            }
        }
        impl<$($g)*> core::ops::Sub for $ty {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: Self) -> Self {
                use $crate::chain_rule::Chain;
                let one = <<Self as Chain>::Primal as num_traits::One>::one();
                self.chain2(rhs, self.primal() - rhs.primal(), one, -one)
            }
        }
        impl<$($g)*> core::ops::Mul for $ty {
            type Output = Self;
            #[inline]
            fn mul(self, rhs: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (a, b) = (self.primal(), rhs.primal());
                self.chain2(rhs, a * b, b, a)
            }
        }
        impl<$($g)*> core::ops::Div for $ty {
            type Output = Self;
            #[inline]
            fn div(self, rhs: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (a, b) = (self.primal(), rhs.primal());
                let inv = <<Self as Chain>::Primal as num_traits::One>::one() / b;
                let q = a * inv;
                self.chain2(rhs, q, inv, -q * inv)
            }
        }
        impl<$($g)*> core::ops::Rem for $ty {
            type Output = Self;
            #[inline]
            fn rem(self, rhs: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (a, b) = (self.primal(), rhs.primal());
                let one = <<Self as Chain>::Primal as num_traits::One>::one();
                self.chain2(rhs, a % b, one, -(a / b).trunc())
            }
        }
        impl<$($g)*> core::ops::Add<f64> for $ty {
            type Output = Self;
            #[inline]
            fn add(self, rhs: f64) -> Self {
                use $crate::chain_rule::Chain;
                self.shift(self.primal() + rhs)
            }
        }
        impl<$($g)*> core::ops::Sub<f64> for $ty {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: f64) -> Self {
                use $crate::chain_rule::Chain;
                self.shift(self.primal() - rhs)
            }
        }
        impl<$($g)*> core::ops::Mul<f64> for $ty {
            type Output = Self;
            #[inline]
            fn mul(self, rhs: f64) -> Self {
                use $crate::chain_rule::Chain;
                let c = <<Self as Chain>::Primal as $crate::Scalar>::constant(rhs);
                self.chain(self.primal() * rhs, c)
            }
        }
        impl<$($g)*> core::ops::Div<f64> for $ty {
            type Output = Self;
            #[inline]
            fn div(self, rhs: f64) -> Self {
                use $crate::chain_rule::Chain;
                let inv = 1.0 / rhs;
                let c = <<Self as Chain>::Primal as $crate::Scalar>::constant(inv);
                self.chain(self.primal() * inv, c)
            }
        }
        impl<$($g)*> core::ops::Add<$ty> for f64 {
            type Output = $ty;
            #[inline]
            fn add(self, rhs: $ty) -> $ty {
                rhs + self
            }
        }
        impl<$($g)*> core::ops::Sub<$ty> for f64 {
            type Output = $ty;
            #[inline]
            fn sub(self, rhs: $ty) -> $ty {
                use $crate::chain_rule::Chain;
                let one = <<$ty as Chain>::Primal as num_traits::One>::one();
                rhs.chain(-rhs.primal() + self, -one)
            }
        }
        impl<$($g)*> core::ops::Mul<$ty> for f64 {
            type Output = $ty;
            #[inline]
            fn mul(self, rhs: $ty) -> $ty {
                rhs * self
            }
        }
        impl<$($g)*> core::ops::Div<$ty> for f64 {
            type Output = $ty;
            #[inline]
            fn div(self, rhs: $ty) -> $ty {
                use $crate::chain_rule::Chain;
                let b = rhs.primal();
                let inv = <<$ty as Chain>::Primal as num_traits::One>::one() / b;
                let q = inv * self;
                rhs.chain(q, -q * inv)
            }
        }
        impl<$($g)*> core::ops::AddAssign for $ty {
            #[inline]
            fn add_assign(&mut self, rhs: Self) {
                *self = *self + rhs;
            }
        }
        impl<$($g)*> core::ops::SubAssign for $ty {
            #[inline]
            fn sub_assign(&mut self, rhs: Self) {
                *self = *self - rhs;
            }
        }
        impl<$($g)*> core::ops::MulAssign for $ty {
            #[inline]
            fn mul_assign(&mut self, rhs: Self) {
                *self = *self * rhs;
            }
        }
        impl<$($g)*> core::ops::DivAssign for $ty {
            #[inline]
            fn div_assign(&mut self, rhs: Self) {
                *self = *self / rhs;
            }
        }
        impl<$($g)*> core::ops::RemAssign for $ty {
            #[inline]
            fn rem_assign(&mut self, rhs: Self) {
                *self = *self % rhs;
            }
        }
        impl<$($g)*> core::ops::AddAssign<f64> for $ty {
            #[inline]
            fn add_assign(&mut self, rhs: f64) {
                *self = *self + rhs;
            }
        }
        impl<$($g)*> core::ops::SubAssign<f64> for $ty {
            #[inline]
            fn sub_assign(&mut self, rhs: f64) {
                *self = *self - rhs;
            }
        }
        impl<$($g)*> core::ops::MulAssign<f64> for $ty {
            #[inline]
            fn mul_assign(&mut self, rhs: f64) {
                *self = *self * rhs;
            }
        }
        impl<$($g)*> core::ops::DivAssign<f64> for $ty {
            #[inline]
            fn div_assign(&mut self, rhs: f64) {
                *self = *self / rhs;
            }
        }
        impl<$($g)*> core::iter::Sum for $ty {
            /// Pairwise accumulation: one node per term in reverse mode. Prefer
            /// [`Scalar::sum_of`](crate::Scalar::sum_of) on a slice, which is one node.
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                iter.fold(<Self as num_traits::Zero>::zero(), |acc, x| acc + x)
            }
        }
        impl<$($g)*> num_traits::Zero for $ty {
            #[inline]
            fn zero() -> Self {
                <Self as $crate::Scalar>::constant(0.0)
            }
            #[inline]
            fn is_zero(&self) -> bool {
                $crate::chain_rule::Chain::primal(*self).is_zero()
            }
        }
        impl<$($g)*> num_traits::One for $ty {
            #[inline]
            fn one() -> Self {
                <Self as $crate::Scalar>::constant(1.0)
            }
        }
        impl<$($g)*> num_traits::Num for $ty {
            type FromStrRadixErr = <f64 as num_traits::Num>::FromStrRadixErr;
            fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
                <f64 as num_traits::Num>::from_str_radix(s, radix).map(<Self as $crate::Scalar>::constant)
            }
        }
        impl<$($g)*> num_traits::ToPrimitive for $ty {
            fn to_i64(&self) -> Option<i64> {
                <Self as $crate::Scalar>::value(*self).to_i64()
            }
            fn to_u64(&self) -> Option<u64> {
                <Self as $crate::Scalar>::value(*self).to_u64()
            }
            fn to_f64(&self) -> Option<f64> {
                Some(<Self as $crate::Scalar>::value(*self))
            }
        }
        impl<$($g)*> num_traits::NumCast for $ty {
            fn from<Src: num_traits::ToPrimitive>(n: Src) -> Option<Self> {
                n.to_f64().map(<Self as $crate::Scalar>::constant)
            }
        }
        impl<$($g)*> num_traits::FromPrimitive for $ty {
            fn from_i64(n: i64) -> Option<Self> {
                Some(<Self as $crate::Scalar>::constant(n as f64))
            }
            fn from_u64(n: u64) -> Option<Self> {
                Some(<Self as $crate::Scalar>::constant(n as f64))
            }
            fn from_f64(n: f64) -> Option<Self> {
                Some(<Self as $crate::Scalar>::constant(n))
            }
        }
        impl<$($g)*> num_traits::Float for $ty {
            fn nan() -> Self {
                Self::constant(f64::NAN)
            }
            fn infinity() -> Self {
                Self::constant(f64::INFINITY)
            }
            fn neg_infinity() -> Self {
                Self::constant(f64::NEG_INFINITY)
            }
            fn neg_zero() -> Self {
                Self::constant(-0.0)
            }
            fn min_value() -> Self {
                Self::constant(f64::MIN)
            }
            fn min_positive_value() -> Self {
                Self::constant(f64::MIN_POSITIVE)
            }
            fn epsilon() -> Self {
                Self::constant(f64::EPSILON)
            }
            fn max_value() -> Self {
                Self::constant(f64::MAX)
            }
            fn is_nan(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_nan()
            }
            fn is_infinite(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_infinite()
            }
            fn is_finite(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_finite()
            }
            fn is_normal(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_normal()
            }
            fn classify(self) -> core::num::FpCategory {
                $crate::chain_rule::Chain::primal(self).classify()
            }
            fn floor(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().floor(), Self::zero_primal())
            }
            fn ceil(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().ceil(), Self::zero_primal())
            }
            fn round(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().round(), Self::zero_primal())
            }
            fn trunc(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().trunc(), Self::zero_primal())
            }
            fn fract(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().fract(), Self::one_primal())
            }
            fn abs(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                if p > Self::zero_primal() {
                    self
                } else if p < Self::zero_primal() {
                    -self
                } else {
                    // Derivative 0 at the kink (documented on `Scalar`); keeps NaN as NaN.
                    self.chain(p.abs(), Self::zero_primal())
                }
            }
            fn signum(self) -> Self {
                use $crate::chain_rule::Chain;
                self.chain(self.primal().signum(), Self::zero_primal())
            }
            fn is_sign_positive(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_sign_positive()
            }
            fn is_sign_negative(self) -> bool {
                $crate::chain_rule::Chain::primal(self).is_sign_negative()
            }
            fn mul_add(self, a: Self, b: Self) -> Self {
                self * a + b
            }
            fn recip(self) -> Self {
                use $crate::chain_rule::Chain;
                let inv = Self::one_primal() / self.primal();
                self.chain(inv, -inv * inv)
            }
            fn powi(self, n: i32) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                if n == 0 {
                    return self.chain(Self::one_primal(), Self::zero_primal());
                }
                // pⁿ itself, not pⁿ⁻¹·p: for n < 0 the latter overflows or underflows where
                // pⁿ does not (p = 1e-160, n = -1), and is NaN at p = 0.
                let below = match n.checked_sub(1) {
                    Some(m) => p.powi(m),
                    None => p.powf(Self::one_primal() * (n as f64 - 1.0)),
                };
                self.chain(p.powi(n), below * (n as f64))
            }
            fn powf(self, exponent: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (x, q) = (self.primal(), exponent.primal());
                let value = x.powf(q);
                // q·x^(q-1) even at q = 0, so that its derivative in q (the mixed partial
                // x^(q-1)(1 + q ln x), 1/x at q = 0) survives under nested duals; only at
                // x = q = 0 is it 0·∞, where x⁰ = 1 has derivative 0.
                let d_x = if q.value() == 0.0 && x.value() == 0.0 {
                    Self::zero_primal()
                } else {
                    q * x.powf(q - Self::one_primal())
                };
                // ∂/∂q = xᵠ ln x is undefined for x ≤ 0; use 0 there so a constant exponent
                // on a negative base (e.g. x.powf(2.0)) does not poison tangents with NaN.
                let d_q = if x.value() > 0.0 {
                    value * x.ln()
                } else {
                    Self::zero_primal()
                };
                self.chain2(exponent, value, d_x, d_q)
            }
            fn sqrt(self) -> Self {
                use $crate::chain_rule::Chain;
                let s = self.primal().sqrt();
                self.chain(s, (s + s).recip())
            }
            fn exp(self) -> Self {
                use $crate::chain_rule::Chain;
                let e = self.primal().exp();
                self.chain(e, e)
            }
            fn exp2(self) -> Self {
                use $crate::chain_rule::Chain;
                let e = self.primal().exp2();
                self.chain(e, e * core::f64::consts::LN_2)
            }
            fn ln(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.ln(), p.recip())
            }
            fn log(self, base: Self) -> Self {
                self.ln() / base.ln()
            }
            fn log2(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.log2(), (p * core::f64::consts::LN_2).recip())
            }
            fn log10(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.log10(), (p * core::f64::consts::LN_10).recip())
            }
            fn to_degrees(self) -> Self {
                self * (180.0 / core::f64::consts::PI)
            }
            fn to_radians(self) -> Self {
                self * (core::f64::consts::PI / 180.0)
            }
            fn max(self, other: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (a, b) = (self.primal(), other.primal());
                if a > b || b.is_nan() {
                    self
                } else if b > a || a.is_nan() {
                    other
                } else {
                    let half = Self::one_primal() * 0.5;
                    self.chain2(other, a, half, half)
                }
            }
            fn min(self, other: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (a, b) = (self.primal(), other.primal());
                if a < b || b.is_nan() {
                    self
                } else if b < a || a.is_nan() {
                    other
                } else {
                    let half = Self::one_primal() * 0.5;
                    self.chain2(other, a, half, half)
                }
            }
            #[allow(deprecated)]
            fn abs_sub(self, other: Self) -> Self {
                if self <= other {
                    Self::constant(0.0)
                } else {
                    self - other
                }
            }
            fn cbrt(self) -> Self {
                use $crate::chain_rule::Chain;
                let c = self.primal().cbrt();
                self.chain(c, (c * c * 3.0).recip())
            }
            fn hypot(self, other: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (x, y) = (self.primal(), other.primal());
                let h = x.hypot(y);
                if h.value() == 0.0 {
                    return self.chain2(other, h, Self::zero_primal(), Self::zero_primal());
                }
                // x/h and y/h through the ratio t of the smaller to the larger: their own
                // derivatives (y²/h³, x²/h³) then come without the cancellation of
                // 1/h - x²/h³, and t² cannot overflow.
                let one = Self::one_primal();
                if x.value().abs() >= y.value().abs() {
                    let t = y / x;
                    let d_x = (t * t + one).sqrt().recip() * x.signum();
                    self.chain2(other, h, d_x, t * d_x)
                } else {
                    let t = x / y;
                    let d_y = (t * t + one).sqrt().recip() * y.signum();
                    self.chain2(other, h, t * d_y, d_y)
                }
            }
            fn sin(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.sin(), p.cos())
            }
            fn cos(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.cos(), -p.sin())
            }
            fn tan(self) -> Self {
                use $crate::chain_rule::Chain;
                let t = self.primal().tan();
                self.chain(t, t * t + 1.0)
            }
            fn asin(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.asin(), Self::one_minus_square(p).sqrt().recip())
            }
            fn acos(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.acos(), -Self::one_minus_square(p).sqrt().recip())
            }
            fn atan(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.atan(), (p * p + 1.0).recip())
            }
            fn atan2(self, other: Self) -> Self {
                use $crate::chain_rule::Chain;
                let (y, x) = (self.primal(), other.primal());
                let r2 = x * x + y * y;
                self.chain2(other, y.atan2(x), x / r2, -y / r2)
            }
            fn sin_cos(self) -> (Self, Self) {
                (self.sin(), self.cos())
            }
            fn exp_m1(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.exp_m1(), p.exp())
            }
            fn ln_1p(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.ln_1p(), (p + 1.0).recip())
            }
            fn sinh(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.sinh(), p.cosh())
            }
            fn cosh(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.cosh(), p.sinh())
            }
            fn tanh(self) -> Self {
                use $crate::chain_rule::Chain;
                // sech², not 1 - t²: that cancels as t → ±1 (1e-8 off at x = 10, 0 from 19.1).
                let p = self.primal();
                self.chain(p.tanh(), $crate::Scalar::sech2(p))
            }
            fn asinh(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                // hypot: p² + 1 would overflow above 1.3e154.
                self.chain(p.asinh(), p.hypot(Self::one_primal()).recip())
            }
            fn acosh(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                // √(p-1)·√(p+1): exact near p = 1 and no overflow of p².
                self.chain(p.acosh(), ((p - 1.0).sqrt() * (p + 1.0).sqrt()).recip())
            }
            fn atanh(self) -> Self {
                use $crate::chain_rule::Chain;
                let p = self.primal();
                self.chain(p.atanh(), Self::one_minus_square(p).recip())
            }
            fn integer_decode(self) -> (u64, i16, i8) {
                $crate::chain_rule::Chain::primal(self).integer_decode()
            }
        }
        impl<$($g)*> $ty {
            #[inline]
            fn zero_primal() -> <Self as $crate::chain_rule::Chain>::Primal {
                <<Self as $crate::chain_rule::Chain>::Primal as num_traits::Zero>::zero()
            }
            #[inline]
            fn one_primal() -> <Self as $crate::chain_rule::Chain>::Primal {
                <<Self as $crate::chain_rule::Chain>::Primal as num_traits::One>::one()
            }
            /// `1 - p²` for the derivatives of asin, acos and atanh: as `(1 - p)(1 + p)`
            /// near |p| = 1 (exact factors, where `1 - p²` cancels), as `1 - p·p` elsewhere
            /// (whose own derivative `-2p` does not cancel for small |p|, as the product's
            /// `(1 - p) - (1 + p)` does).
            #[inline]
            fn one_minus_square(
                p: <Self as $crate::chain_rule::Chain>::Primal,
            ) -> <Self as $crate::chain_rule::Chain>::Primal {
                let one = Self::one_primal();
                if $crate::Scalar::value(p).abs() > 0.5 {
                    (one - p) * (one + p)
                } else {
                    one - p * p
                }
            }
        }
    };
}

/// The [`Scalar`](crate::Scalar) methods whose derivative is a plain chain rule, as items to
/// place inside an `impl Scalar for …` block of a [`Chain`] type.
macro_rules! chain_scalar_methods {
    () => {
        #[inline]
        fn value(self) -> f64 {
            $crate::Scalar::value($crate::chain_rule::Chain::primal(self))
        }
        fn log_add_exp(self, other: Self) -> Self {
            use $crate::chain_rule::Chain;
            let (a, b) = (self.primal(), other.primal());
            let r = $crate::Scalar::log_add_exp(a, b);
            let (rv, av) = (r.value(), a.value());
            let zero = Self::zero_primal();
            let one = Self::one_primal();
            let (d_a, d_b) = if rv == f64::NEG_INFINITY {
                (zero, zero)
            } else if rv == f64::INFINITY {
                if av == f64::INFINITY {
                    (one, zero)
                } else {
                    (zero, one)
                }
            } else {
                // Logistic of the difference, not exp(a - r): a - r cancels at large
                // magnitudes (0.4724 instead of 0.5 at a = b = 1e15).
                (
                    $crate::Scalar::logistic(a - b),
                    $crate::Scalar::logistic(b - a),
                )
            };
            self.chain2(other, r, d_a, d_b)
        }
        fn softplus(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            self.chain($crate::Scalar::softplus(p), $crate::Scalar::logistic(p))
        }
        fn logistic(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            // s(1 - s) = sech²(p/2)/4: accurate for all p, and so is its own derivative
            // (s·logistic(-p) differentiates to a difference that cancels for |p| < 1e-8).
            self.chain(
                $crate::Scalar::logistic(p),
                $crate::Scalar::sech2(p * 0.5) * 0.25,
            )
        }
        fn log_logistic(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            self.chain(
                $crate::Scalar::log_logistic(p),
                $crate::Scalar::logistic(-p),
            )
        }
        fn ln_gamma(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            self.chain($crate::Scalar::ln_gamma(p), $crate::Scalar::digamma(p))
        }
        fn digamma(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            self.chain($crate::Scalar::digamma(p), $crate::Scalar::polygamma(p, 1))
        }
        fn polygamma(self, n: u32) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            self.chain(
                $crate::Scalar::polygamma(p, n),
                $crate::Scalar::polygamma(p, n + 1),
            )
        }
        fn erf(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let d = (-(p * p)).exp() * core::f64::consts::FRAC_2_SQRT_PI;
            self.chain($crate::Scalar::erf(p), d)
        }
        fn erfc(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let d = (-(p * p)).exp() * (-core::f64::consts::FRAC_2_SQRT_PI);
            self.chain($crate::Scalar::erfc(p), d)
        }
        fn norm_cdf(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let density = (-(p * p) * 0.5).exp() * $crate::chain_rule::FRAC_1_SQRT_2PI;
            self.chain($crate::Scalar::norm_cdf(p), density)
        }
        fn log_norm_cdf(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            // The inverse Mills ratio φ/Φ as an operation of its own: the quotient of two
            // underflowing terms (or their logs, which cancel) is wrong for x ≪ 0.
            self.chain(
                $crate::Scalar::log_norm_cdf(p),
                $crate::Scalar::inv_mills(p),
            )
        }
        fn sech2(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let s = $crate::Scalar::sech2(p);
            self.chain(s, -(p.tanh() * s) * 2.0)
        }
        fn inv_mills(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let r = $crate::Scalar::inv_mills(p);
            // (φ/Φ)' = -(φ/Φ)(x + φ/Φ), the second factor computed without cancellation.
            self.chain(r, -(r * $crate::Scalar::mills_offset(p)))
        }
        fn mills_offset(self) -> Self {
            use $crate::chain_rule::Chain;
            let p = self.primal();
            let r = $crate::Scalar::inv_mills(p);
            let k = $crate::Scalar::mills_offset(p);
            self.chain(k, -(r * k) + 1.0)
        }
    };
}

/// 1/√(2π).
pub(crate) const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

pub(crate) use chain_scalar_methods;
pub(crate) use impl_via_chain;
