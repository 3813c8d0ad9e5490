// The operations of the dense types (vector, halfvec) whose logic does not depend on the element
// width, written once over DenseTraits: distances through the type's kernels, norms, element-wise
// arithmetic, ||, subvector, binary_quantize, btree comparison and the avg() transition.
// vector_ops.cpp and halfvec_ops.cpp hold the SQL entry points. Private to src/pg.
#pragma once

#include "vector_common.h"

extern "C" {
#include "utils/float.h"
}

#include <cmath>
#include <cstring>

#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

namespace quiver::pg {

using quiver::core::KernelTable;

template <typename V> struct DenseTraits;

template <> struct DenseTraits<Vector> {
    using Elem = float;
    static constexpr const DenseTypeName &type = kVectorType;
    static constexpr auto l2sq = &KernelTable::l2sq_f32;
    static constexpr auto dot = &KernelTable::dot_f32;
    static constexpr auto l1 = &KernelTable::l1_f32;
    static constexpr auto cosine = &KernelTable::cosine_f32;
    static Vector *make(int dim) { return new_vector(dim); }
    static float get(Elem x) { return x; }
    static Elem put(float x) { return x; }
};

template <> struct DenseTraits<HalfVector> {
    using Elem = uint16;
    static constexpr const DenseTypeName &type = kHalfvecType;
    static constexpr auto l2sq = &KernelTable::l2sq_f16;
    static constexpr auto dot = &KernelTable::dot_f16;
    static constexpr auto l1 = &KernelTable::l1_f16;
    static constexpr auto cosine = &KernelTable::cosine_f16;
    static HalfVector *make(int dim) { return new_halfvec(dim); }
    static float get(Elem x) { return quiver::core::half_to_float(x); }
    // Round to nearest even; a value beyond the half range becomes inf (the callers' check).
    static Elem put(float x) { return quiver::core::float_to_half(x); }
};

// ---- distances (float sums in the kernels, as pgvector) ----------------------------------------

template <typename V> size_t dense_len(const V *a, const V *b)
{
    check_same_dims(DenseTraits<V>::type, a->dim, b->dim);
    return static_cast<size_t>(a->dim);
}

template <typename V> double dense_l2sq(const V *a, const V *b)
{
    size_t n = dense_len(a, b);
    return static_cast<double>((quiver::core::kernels().*DenseTraits<V>::l2sq)(a->x, b->x, n));
}

template <typename V> double dense_dot(const V *a, const V *b)
{
    size_t n = dense_len(a, b);
    return static_cast<double>((quiver::core::kernels().*DenseTraits<V>::dot)(a->x, b->x, n));
}

template <typename V> double dense_l1(const V *a, const V *b)
{
    size_t n = dense_len(a, b);
    return static_cast<double>((quiver::core::kernels().*DenseTraits<V>::l1)(a->x, b->x, n));
}

inline double clamp_unit(double x)
{
    // Rounding can push a cosine past +-1; NaN (a zero vector) passes through.
    if (x > 1)
        return 1;
    if (x < -1)
        return -1;
    return x;
}

// 1 - dot / sqrt(|a|^2 |b|^2): the parts in float, the division in double. NaN for a zero vector.
template <typename V> double dense_cosine_distance(const V *a, const V *b)
{
    size_t n = dense_len(a, b);
    quiver::core::CosineParts p = (quiver::core::kernels().*DenseTraits<V>::cosine)(a->x, b->x, n);
    double similarity = static_cast<double>(p.dot) /
                        std::sqrt(static_cast<double>(p.norm_a) * static_cast<double>(p.norm_b));
    return 1.0 - clamp_unit(similarity);
}

// Angular distance for spherical k-means; assumes unit vectors.
template <typename V> double dense_spherical_distance(const V *a, const V *b)
{
    return std::acos(clamp_unit(dense_dot(a, b))) / M_PI;
}

// ---- norms and arithmetic -----------------------------------------------------------------------

// Sum of squares in double, as pgvector's norm and l2_normalize accumulate it (a float kernel
// would round differently on long vectors).
template <typename V> double dense_norm(const V *v)
{
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++) {
        double x = DenseTraits<V>::get(v->x[i]);
        sum += x * x;
    }
    return std::sqrt(sum);
}

template <typename V> void check_no_overflow(const V *v)
{
    for (int i = 0; i < v->dim; i++)
        if (std::isinf(DenseTraits<V>::get(v->x[i])))
            float_overflow_error();
}

// v / |v|, element by element in double, rounded to the element type; a zero vector stays zero.
template <typename V> V *dense_normalize(const V *a)
{
    using T = DenseTraits<V>;
    V *result = T::make(a->dim);
    double norm = dense_norm(a);
    if (norm > 0) {
        for (int i = 0; i < a->dim; i++)
            result->x[i] = T::put(static_cast<float>(T::get(a->x[i]) / norm));
        check_no_overflow(result);
    }
    return result;
}

enum class DenseOp { add, sub, mul };

// a op b in float, rounded to the element type; overflow (and for *, underflow to zero of
// non-zero factors) raises pgvector's "value out of range" errors.
template <typename V> V *dense_elementwise(const V *a, const V *b, DenseOp op)
{
    using T = DenseTraits<V>;
    dense_len(a, b);
    V *result = T::make(a->dim);
    for (int i = 0; i < a->dim; i++) {
        float x = T::get(a->x[i]);
        float y = T::get(b->x[i]);
        float z = op == DenseOp::add ? x + y : op == DenseOp::sub ? x - y : x * y;
        result->x[i] = T::put(z);
    }
    for (int i = 0; i < a->dim; i++) {
        float z = T::get(result->x[i]);
        if (std::isinf(z))
            float_overflow_error();
        if (op == DenseOp::mul && z == 0 && !(T::get(a->x[i]) == 0 || T::get(b->x[i]) == 0))
            float_underflow_error();
    }
    return result;
}

// ---- structure ------------------------------------------------------------------------------------

template <typename V> V *dense_concat(const V *a, const V *b)
{
    using T = DenseTraits<V>;
    int dim = a->dim + b->dim;
    check_dim(T::type, dim);
    V *result = T::make(dim);
    std::memcpy(result->x, a->x, sizeof(typename T::Elem) * a->dim);
    std::memcpy(result->x + a->dim, b->x, sizeof(typename T::Elem) * b->dim);
    return result;
}

template <typename V> V *dense_subvector(const V *a, int32 start, int32 count)
{
    using T = DenseTraits<V>;
    int first = 0;
    int length = 0;
    subvector_range(T::type, a->dim, start, count, &first, &length);
    V *result = T::make(length);
    std::memcpy(result->x, a->x + first, sizeof(typename T::Elem) * length);
    return result;
}

// One bit per element, set when the element is > 0; first element in the high bit.
template <typename V> VarBit *dense_binary_quantize(const V *a)
{
    VarBit *result = new_bit_string(a->dim);
    unsigned char *bits = VARBITS(result);
    for (int i = 0; i < a->dim; i++)
        if (DenseTraits<V>::get(a->x[i]) > 0)
            bits[i / 8] |= static_cast<unsigned char>(1u << (7 - (i % 8)));
    return result;
}

// btree order: elements first, then length, like PostgreSQL arrays.
template <typename V> int dense_compare(const V *a, const V *b)
{
    int common = Min(a->dim, b->dim);
    for (int i = 0; i < common; i++) {
        float x = DenseTraits<V>::get(a->x[i]);
        float y = DenseTraits<V>::get(b->x[i]);
        if (x < y)
            return -1;
        if (x > y)
            return 1;
    }
    return (a->dim > b->dim) - (a->dim < b->dim);
}

// avg() transition: the row added to the float8 sums (like float4_accum); one combine function
// (vector_combine) serves both types.
template <typename V> ArrayType *dense_accum(ArrayType *state_array, const V *row, const char *caller)
{
    AvgState state = read_avg_state(state_array, caller);
    int dim = state.dim == 0 ? row->dim : state.dim;
    if (state.dim != 0)
        check_expected_dim(state.dim, row->dim);
    auto *sums = static_cast<float8 *>(palloc(sizeof(float8) * dim));
    for (int i = 0; i < dim; i++) {
        double x = DenseTraits<V>::get(row->x[i]);
        sums[i] = state.dim == 0 ? x : state.sums[i] + x;
        if (std::isinf(sums[i]))
            float_overflow_error();
    }
    return build_avg_state(state.count + 1.0, sums, dim);
}

}  // namespace quiver::pg
