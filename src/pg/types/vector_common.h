// Checks and helpers shared by the dense vector types (vector, halfvec): dimension and typmod
// checks with pgvector's messages, the float8[] state of avg(), and bit strings for
// binary_quantize. Private to src/pg/types/vector*.cpp and halfvec*.cpp; holds no SQL entry point.
#pragma once

#include "quiver/pg/types.h"

extern "C" {
#include "lib/stringinfo.h"
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

// "invalid input syntax for type X: \"<literal>\"" (22P02), with an optional DETAIL.
void raise_bad_dense_literal(const DenseTypeName &type, const char *literal, const char *detail);

// Parses the text form "[x1, x2, ...]" of a dense type (whitespace allowed around the brackets
// and elements) into values[0 .. type.max_dim); returns the count. parse_element reads one
// element at *pt, advances *pt and raises the element's own errors (see float_text.h).
template <typename T, typename ParseElement>
int parse_dense_literal(char *literal, const DenseTypeName &type, T *values,
                        ParseElement parse_element);

// "X must have at least 1 dimension" (22000) / "X cannot have more than N dimensions" (54000).
void check_dim(const DenseTypeName &type, int dim);
// "expected T dimensions, not D" (22000) unless typmod is -1.
void check_expected_dim(int32 typmod, int dim);
// "different X dimensions A and B" (22000).
void check_same_dims(const DenseTypeName &type, int a, int b);

// The binary form's header, int16 dim and int16 unused (0), read and checked: returns dim.
int read_dense_binary_header(StringInfo buf, const DenseTypeName &type, int32 typmod);

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

char *skip_vector_space(char *pt);

template <typename T, typename ParseElement>
int parse_dense_literal(char *literal, const DenseTypeName &type, T *values,
                        ParseElement parse_element)
{
    char *pt = skip_vector_space(literal);
    if (*pt != '[')
        raise_bad_dense_literal(type, literal, "Vector contents must start with \"[\".");
    pt = skip_vector_space(pt + 1);
    if (*pt == ']')
        check_dim(type, 0);

    int dim = 0;
    for (;;) {
        if (dim == type.max_dim)
            check_dim(type, dim + 1);
        pt = skip_vector_space(pt);
        values[dim++] = parse_element(&pt, literal);
        pt = skip_vector_space(pt);
        if (*pt == ',') {
            pt++;
        } else if (*pt == ']') {
            pt++;
            break;
        } else {
            raise_bad_dense_literal(type, literal, nullptr);
        }
    }
    if (*skip_vector_space(pt) != '\0')
        raise_bad_dense_literal(type, literal, "Junk after closing right brace.");
    return dim;
}

} // namespace quiver::pg
