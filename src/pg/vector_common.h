// Checks and helpers shared by the dense vector types (vector, halfvec): dimension and typmod
// checks with pgvector's messages, the float8[] state of avg(), and bit strings for
// binary_quantize. Private to src/pg/vector*.cpp and halfvec*.cpp; holds no SQL entry point.
#pragma once

#include "quiver/pg/types.h"

extern "C" {
#include "utils/array.h"
#include "utils/varbit.h"
}

namespace quiver::pg {

// "vector" or "halfvec": the word pgvector puts in the messages for each dense type.
struct DenseTypeName {
    const char *name;
    int max_dim;
};
inline constexpr DenseTypeName kVectorType{"vector", VECTOR_MAX_DIM};
inline constexpr DenseTypeName kHalfvecType{"halfvec", HALFVEC_MAX_DIM};

// "X must have at least 1 dimension" (22000) / "X cannot have more than N dimensions" (54000).
void check_dim(const DenseTypeName &type, int dim);
// "expected T dimensions, not D" (22000) unless typmod is -1.
void check_expected_dim(int32 typmod, int dim);
// "different X dimensions A and B" (22000).
void check_same_dims(const DenseTypeName &type, int a, int b);

// typmod_in: exactly one integer in [1, max_dim], with pgvector's messages.
int32 parse_dims_typmod(ArrayType *typmods, const DenseTypeName &type);

// subvector(v, start, count): the 0-based first element and the length, or an error
// "X must have at least 1 dimension" when the range selects nothing.
void subvector_range(const DenseTypeName &type, int dim, int32 start, int32 count, int *first,
                     int *length);

// The avg() transition state: float8[] {n, sum_1, ..., sum_dim}; {0} before the first row.
struct AvgState {
    float8 count;
    int dim; // 0 while empty
    const float8 *sums;
};
AvgState read_avg_state(ArrayType *state, const char *caller);
// The state array {count, sums[0], ..., sums[dim - 1]}.
ArrayType *build_avg_state(float8 count, const float8 *sums, int dim);

// The elements of a 1-D int4/float4/float8/numeric array without NULLs, as floats (palloc'd),
// after the dimension and typmod checks of `type`. Returns the count. NaN/inf are the caller's.
int array_to_floats(ArrayType *array, const DenseTypeName &type, int32 typmod, float **out);
// A real[] of the values.
ArrayType *floats_to_real_array(const float *values, int count);

// float -> binary16, round-to-nearest-even; a finite value beyond the half range raises
// "\"<value>\" is out of range for type halfvec" (22003). NaN and inf pass through unchanged.
uint16 float_to_half_checked(float value);
// The same check after a bulk conversion (kernels().f32_to_f16) of n values.
void check_half_conversion(const float *in, const uint16 *out, int n);

// A zeroed bit string of `bits` bits (PostgreSQL's bit type), for binary_quantize.
VarBit *new_bit_string(int bits);

} // namespace quiver::pg
