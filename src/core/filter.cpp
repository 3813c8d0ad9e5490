// Filter columns (filter.h): writing payloads, checking them, and evaluating a conjunction of
// clauses on one. matches() runs for every entry a filtered search visits, so it walks the
// payload once, up to the last column a clause asks about, without allocating.
#include "quiver/core/filter.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace quiver::core::filter {
namespace {

// Columns a predicate may refer to (PostgreSQL allows 32 index columns).
constexpr std::size_t max_columns = 64;

// One column of a payload as matches() sees it. Trivial on purpose: matches() keeps an array
// of them on the stack for every entry a search visits, and only the columns it reads are
// filled in (Reader::column starts from a zeroed view).
struct ColumnView {
    ValueKind kind;
    std::int64_t integer;
    bool boolean;
    const char *text;
    std::size_t text_len;
    std::uint32_t count;                  // arrays
    const std::uint8_t *items;            // arrays: the first element ...
    const std::uint8_t *items_end;        // ... and the end of the last
    std::string_view text_view() const { return std::string_view(text, text_len); }
};

class Reader {
public:
    Reader(const std::uint8_t *p, std::size_t size) : p_(p), end_(p + size) {}
    bool done() const { return p_ == end_; }

    bool u8(std::uint8_t *v)
    {
        if (end_ - p_ < 1)
            return false;
        *v = *p_++;
        return true;
    }
    bool u32(std::uint32_t *v)
    {
        if (end_ - p_ < 4)
            return false;
        *v = std::uint32_t(p_[0]) | std::uint32_t(p_[1]) << 8 | std::uint32_t(p_[2]) << 16 |
             std::uint32_t(p_[3]) << 24;
        p_ += 4;
        return true;
    }
    bool i64(std::int64_t *v)
    {
        if (end_ - p_ < 8)
            return false;
        std::uint64_t u = 0;
        for (int i = 7; i >= 0; --i)
            u = u << 8 | p_[i];
        *v = static_cast<std::int64_t>(u);
        p_ += 8;
        return true;
    }
    bool skip(std::size_t n)
    {
        if (std::size_t(end_ - p_) < n)
            return false;
        p_ += n;
        return true;
    }
    const std::uint8_t *at() const { return p_; }

    // The next column; false when the payload ends early or holds an unknown kind.
    bool column(ColumnView *c)
    {
        *c = ColumnView{};
        std::uint8_t kind;
        if (!u8(&kind))
            return false;
        c->kind = static_cast<ValueKind>(kind);
        switch (c->kind) {
        case ValueKind::null:
            return true;
        case ValueKind::integer:
            return i64(&c->integer);
        case ValueKind::boolean: {
            std::uint8_t b;
            if (!u8(&b) || b > 1)
                return false;
            c->boolean = b == 1;
            return true;
        }
        case ValueKind::text: {
            std::uint32_t len;
            if (!u32(&len))
                return false;
            c->text = reinterpret_cast<const char *>(p_);
            c->text_len = len;
            return skip(len);
        }
        case ValueKind::int_array:
            if (!u32(&c->count))
                return false;
            c->items = p_;
            if (!skip(std::size_t(c->count) * 8))
                return false;
            c->items_end = p_;
            return true;
        case ValueKind::text_array: {
            if (!u32(&c->count))
                return false;
            c->items = p_;
            for (std::uint32_t i = 0; i < c->count; ++i) {
                std::uint32_t len;
                if (!u32(&len) || !skip(len))
                    return false;
            }
            c->items_end = p_;
            return true;
        }
        }
        return false;
    }

private:
    const std::uint8_t *p_;
    const std::uint8_t *end_;
};

// Elements of an array column, one at a time.
std::int64_t int_item(const ColumnView &c, std::uint32_t i)
{
    Reader r(c.items + std::size_t(i) * 8, 8);
    std::int64_t v = 0;
    r.i64(&v);
    return v;
}

template <class F> bool any_text_item(const ColumnView &c, F f)
{
    Reader r(c.items, static_cast<std::size_t>(c.items_end - c.items));  // checked when read
    for (std::uint32_t i = 0; i < c.count; ++i) {
        std::uint32_t len = 0;
        r.u32(&len);
        std::string_view item(reinterpret_cast<const char *>(r.at()), len);
        r.skip(len);
        if (f(item))
            return true;
    }
    return false;
}

template <class T> int compare(const T &a, const T &b) { return a < b ? -1 : (b < a ? 1 : 0); }

bool ordered(Op op, int cmp)
{
    switch (op) {
    case Op::eq:
        return cmp == 0;
    case Op::ne:
        return cmp != 0;
    case Op::lt:
        return cmp < 0;
    case Op::le:
        return cmp <= 0;
    case Op::gt:
        return cmp > 0;
    case Op::ge:
        return cmp >= 0;
    default:
        return false;
    }
}

bool has_int(const std::vector<std::int64_t> &sorted, std::int64_t v)
{
    return std::binary_search(sorted.begin(), sorted.end(), v);
}

bool has_text(const std::vector<std::string> &sorted, std::string_view v)
{
    auto it = std::lower_bound(sorted.begin(), sorted.end(), v,
                               [](const std::string &a, std::string_view b) { return std::string_view(a) < b; });
    return it != sorted.end() && std::string_view(*it) == v;
}

bool array_has_int(const ColumnView &c, std::int64_t v)
{
    for (std::uint32_t i = 0; i < c.count; ++i)
        if (int_item(c, i) == v)
            return true;
    return false;
}

bool clause_matches(const Clause &k, const ColumnView &c)
{
    switch (k.op) {
    case Op::is_null:
        return c.kind == ValueKind::null;
    case Op::is_not_null:
        return c.kind != ValueKind::null;
    default:
        break;
    }
    if (c.kind == ValueKind::null)
        return false;  // SQL: unknown, so the row is filtered out
    switch (k.op) {
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
        if (c.kind != k.kind)
            return false;
        if (c.kind == ValueKind::integer)
            return ordered(k.op, compare(c.integer, k.integer));
        if (c.kind == ValueKind::boolean)
            return ordered(k.op, compare(c.boolean, k.boolean));
        if (c.kind == ValueKind::text && !k.texts.empty())
            return ordered(k.op, compare(c.text_view(), std::string_view(k.texts[0])));
        return false;
    case Op::any_eq:
        if (c.kind == ValueKind::integer && k.kind == ValueKind::int_array)
            return has_int(k.integers, c.integer);
        if (c.kind == ValueKind::text && k.kind == ValueKind::text_array)
            return has_text(k.texts, c.text_view());
        return false;
    case Op::overlaps:
        if (c.kind == ValueKind::int_array && k.kind == ValueKind::int_array) {
            for (std::uint32_t i = 0; i < c.count; ++i)
                if (has_int(k.integers, int_item(c, i)))
                    return true;
            return false;
        }
        if (c.kind == ValueKind::text_array && k.kind == ValueKind::text_array)
            return any_text_item(c, [&](std::string_view t) { return has_text(k.texts, t); });
        return false;
    case Op::contains:
        if (k.has_null)
            return false;  // a NULL element equals nothing, so no array contains it
        if (c.kind == ValueKind::int_array && k.kind == ValueKind::int_array) {
            for (std::int64_t v : k.integers)
                if (!array_has_int(c, v))
                    return false;
            return true;
        }
        if (c.kind == ValueKind::text_array && k.kind == ValueKind::text_array) {
            for (const std::string &v : k.texts)
                if (!any_text_item(c, [&](std::string_view t) { return t == v; }))
                    return false;
            return true;
        }
        return false;
    default:
        return false;
    }
}

}  // namespace

void PayloadWriter::put_u32(std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void PayloadWriter::put_i64(std::int64_t v)
{
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i)
        bytes_.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
}

void PayloadWriter::add_null()
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::null));
    ++columns_;
}

void PayloadWriter::add_integer(std::int64_t v)
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::integer));
    put_i64(v);
    ++columns_;
}

void PayloadWriter::add_boolean(bool v)
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::boolean));
    bytes_.push_back(v ? 1 : 0);
    ++columns_;
}

void PayloadWriter::add_text(const char *bytes, std::size_t len)
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::text));
    put_u32(static_cast<std::uint32_t>(len));
    bytes_.insert(bytes_.end(), bytes, bytes + len);
    ++columns_;
}

void PayloadWriter::add_int_array(const std::int64_t *values, std::size_t count)
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::int_array));
    put_u32(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i)
        put_i64(values[i]);
    ++columns_;
}

void PayloadWriter::add_text_array(const char *const *texts, const std::size_t *lengths,
                                   std::size_t count)
{
    bytes_.push_back(static_cast<std::uint8_t>(ValueKind::text_array));
    put_u32(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) {
        put_u32(static_cast<std::uint32_t>(lengths[i]));
        bytes_.insert(bytes_.end(), texts[i], texts[i] + lengths[i]);
    }
    ++columns_;
}

bool payload_valid(const std::uint8_t *payload, std::size_t size, std::size_t columns) noexcept
{
    Reader r(payload, size);
    ColumnView c;
    for (std::size_t i = 0; i < columns; ++i)
        if (!r.column(&c))
            return false;
    return r.done();
}

void Predicate::add(Clause clause)
{
    std::sort(clause.integers.begin(), clause.integers.end());
    std::sort(clause.texts.begin(), clause.texts.end());  // a scalar's one text stays texts[0]
    max_column_ = std::max(max_column_, clause.column);
    clauses_.push_back(std::move(clause));
}

bool Predicate::matches(const std::uint8_t *payload, std::size_t size) const noexcept
{
    if (clauses_.empty())
        return true;
    if (max_column_ >= max_columns)
        return false;
    ColumnView columns[max_columns];
    Reader r(payload, size);
    for (std::size_t i = 0; i <= max_column_; ++i)
        if (!r.column(&columns[i]))
            return false;
    for (const Clause &k : clauses_)
        if (!clause_matches(k, columns[k.column]))
            return false;
    return true;
}

}  // namespace quiver::core::filter
