"""Python clients from Debian's packages against quiver, written as a pgvector user writes them
when the pgvector package is not at hand: psycopg 3 (text, binary with hand-written dumpers and
loaders for pgvector's wire formats, COPY in both formats), asyncpg (a binary codec) and
SQLAlchemy 1.4 (a UserDefinedType over psycopg2, the index made the way pgvector-python's
README shows). Values round-trip bit for bit; nearest neighbours equal the exact answer.

Connection settings: PGHOST, PGPORT, PGUSER (a superuser: the suite creates and drops its own
database). Run through run_tests.py, which prints TAP.
"""
import asyncio
import os
import random
import struct
import unittest
import uuid

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format

DB = "quiver_py_%s" % uuid.uuid4().hex[:8]


def conninfo(dbname):
    return "dbname=%s" % dbname


def setUpModule():
    with psycopg.connect(conninfo(os.environ.get("PGDATABASE", "postgres")), autocommit=True) as c:
        c.execute("CREATE DATABASE %s" % DB)
    with psycopg.connect(conninfo(DB), autocommit=True) as c:
        c.execute("CREATE EXTENSION quiver")


def tearDownModule():
    with psycopg.connect(conninfo(os.environ.get("PGDATABASE", "postgres")), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)


def f32(x):
    """x rounded to float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def random_vector(rng, dim):
    return [f32(rng.uniform(-1, 1)) for _ in range(dim)]


def vector_text(v):
    # repr of a float32-exact double is the shortest text that reads back to it; the server
    # reads it as float32 exactly.
    return "[" + ",".join(repr(x) for x in v) + "]"


# pgvector's binary formats (vector_send / halfvec_send / sparsevec_send), big-endian.
def vector_pack(v):
    return struct.pack(">hh%df" % len(v), len(v), 0, *v)


def vector_unpack(b):
    dim, _ = struct.unpack_from(">hh", b)
    return list(struct.unpack_from(">%df" % dim, b, 4))


def halfvec_pack(v):
    return struct.pack(">hh%de" % len(v), len(v), 0, *v)


def halfvec_unpack(b):
    dim, _ = struct.unpack_from(">hh", b)
    return list(struct.unpack_from(">%de" % dim, b, 4))


def sparsevec_pack(sv):
    dim, entries = sv
    idx = sorted(entries)
    return struct.pack(">iii%di%df" % (len(idx), len(idx)), dim, len(idx), 0,
                       *idx, *[entries[i] for i in idx])


def sparsevec_unpack(b):
    dim, nnz, _ = struct.unpack_from(">iii", b)
    idx = struct.unpack_from(">%di" % nnz, b, 12)
    vals = struct.unpack_from(">%df" % nnz, b, 12 + 4 * nnz)
    return dim, dict(zip(idx, vals))


class Vector(list):
    pass


class HalfVector(list):
    pass


class SparseVector(tuple):
    pass


def register_psycopg(conn):
    """Binary dumpers and loaders for vector, halfvec and sparsevec on one connection."""
    from psycopg.types import TypeInfo
    for name, cls, pack, unpack in (("vector", Vector, vector_pack, vector_unpack),
                                    ("halfvec", HalfVector, halfvec_pack, halfvec_unpack),
                                    ("sparsevec", SparseVector, sparsevec_pack, sparsevec_unpack)):
        info = TypeInfo.fetch(conn, name)
        info.register(conn)  # COPY's set_types() looks types up by name

        class BinDumper(Dumper):
            format = Format.BINARY
            oid = info.oid

            def dump(self, obj, pack=pack):
                return pack(obj)

        class BinLoader(Loader):
            format = Format.BINARY

            def load(self, data, unpack=unpack):
                return unpack(bytes(data))

        conn.adapters.register_dumper(cls, BinDumper)
        conn.adapters.register_loader(info.oid, BinLoader)


class Psycopg3(unittest.TestCase):
    def setUp(self):
        self.conn = psycopg.connect(conninfo(DB), autocommit=True)
        self.conn.execute("DROP TABLE IF EXISTS items")
        self.conn.execute("""CREATE TABLE items (id int PRIMARY KEY, embedding vector(8),
                             half halfvec(8), sparse sparsevec(100), bits bit(16), cat int)""")
        self.rng = random.Random(20261207)

    def tearDown(self):
        self.conn.close()

    def test_text_round_trip(self):
        rows = []
        for i in range(50):
            v = random_vector(self.rng, 8)
            rows.append((i, v))
            self.conn.execute("INSERT INTO items (id, embedding, half) VALUES (%s, %s::vector, %s::halfvec)",
                              (i, vector_text(v), vector_text([0.5, -1.25, 2, 0, 1e-3, 65504, -2.5, 3])))
        for i, v in rows:
            text, = self.conn.execute("SELECT embedding::text FROM items WHERE id = %s", (i,)).fetchone()
            # the server prints the shortest text that reads back to the same float32
            self.assertEqual([f32(float(x)) for x in text[1:-1].split(",")], v)
        half, = self.conn.execute("SELECT half::text FROM items WHERE id = 0").fetchone()
        # halfvec keeps binary16: 1e-3 becomes the nearest half, printed (as pgvector does) as
        # the shortest text of that value as a float32
        self.assertEqual(half, "[0.5,-1.25,2,0,0.0010004044,65504,-2.5,3]")
        self.conn.execute("INSERT INTO items (id, sparse, bits) VALUES (100, '{1:1.5,7:-2,100:0.25}/100', B'1010000000000001')")
        row = self.conn.execute("SELECT sparse::text, bits::text FROM items WHERE id = 100").fetchone()
        self.assertEqual(row, ("{1:1.5,7:-2,100:0.25}/100", "1010000000000001"))

    def test_binary_round_trip(self):
        register_psycopg(self.conn)
        vs = [random_vector(self.rng, 8) for _ in range(50)]
        hs = [[struct.unpack(">e", struct.pack(">e", self.rng.uniform(-100, 100)))[0] for _ in range(8)]
              for _ in range(50)]
        # the binary format's indices start at 0 (the text format's at 1)
        ss = [(100, {self.rng.randrange(0, 100): f32(self.rng.uniform(-1, 1)) for _ in range(5)})
              for _ in range(50)]
        with self.conn.cursor(binary=True) as cur:
            for i in range(50):
                cur.execute("INSERT INTO items (id, embedding, half, sparse) VALUES (%b, %b, %b, %b)",
                            (i, Vector(vs[i]), HalfVector(hs[i]), SparseVector(ss[i])))
            cur.execute("SELECT id, embedding, half, sparse FROM items ORDER BY id")
            for i, v, h, s in cur.fetchall():
                self.assertEqual(v, vs[i])
                self.assertEqual(h, hs[i])
                self.assertEqual(s, ss[i])
        # the binary and text forms agree
        text, = self.conn.execute("SELECT embedding::text FROM items WHERE id = 3").fetchone()
        self.assertEqual([f32(float(x)) for x in text[1:-1].split(",")], vs[3])

    def test_copy_binary_and_text(self):
        register_psycopg(self.conn)
        vs = [random_vector(self.rng, 8) for _ in range(200)]
        with self.conn.cursor() as cur:
            with cur.copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "vector"])
                for i, v in enumerate(vs):
                    copy.write_row((i, Vector(v)))
            with cur.copy("COPY items (id, embedding) FROM STDIN") as copy:
                for i, v in enumerate(vs):
                    copy.write_row((1000 + i, vector_text(v)))
            cur.execute("SELECT count(*) FROM items a JOIN items b ON b.id = a.id + 1000 AND a.embedding = b.embedding")
            self.assertEqual(cur.fetchone()[0], 200)
            out = []
            with cur.copy("COPY (SELECT id, embedding FROM items WHERE id < 1000 ORDER BY id) TO STDOUT WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "vector"])
                for row in copy.rows():
                    out.append(row)
            self.assertEqual([r[1] for r in out], vs)

    def test_nearest_neighbours_through_each_index(self):
        register_psycopg(self.conn)
        vs = [random_vector(self.rng, 8) for _ in range(300)]
        with self.conn.cursor(binary=True) as cur:
            for i, v in enumerate(vs):
                cur.execute("INSERT INTO items (id, embedding, cat) VALUES (%b, %b, %b)", (i, Vector(v), i % 5))
        q = random_vector(self.rng, 8)

        def exact(op, cat=None):
            def d(v):
                if op == "<->":
                    return sum((a - b) ** 2 for a, b in zip(v, q))
                if op == "<#>":
                    return -sum(a * b for a, b in zip(v, q))
                return sum(abs(a - b) for a, b in zip(v, q))
            ids = [i for i in range(300) if cat is None or i % 5 == cat]
            return sorted(ids, key=lambda i: (d(vs[i]), i))[:10]

        for index, op in (("USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 100)", "<->"),
                          ("USING hnsw (embedding vector_ip_ops)", "<#>"),
                          ("USING hnsw (embedding vector_l1_ops)", "<+>"),
                          ("USING ivfflat (embedding vector_l2_ops) WITH (lists = 4)", "<->"),
                          ("USING hnsw (embedding vector_l2_ops, cat)", "<->")):
            self.conn.execute("DROP INDEX IF EXISTS items_idx")
            self.conn.execute("CREATE INDEX items_idx ON items " + index)
            self.conn.execute("SET enable_seqscan = off; SET hnsw.ef_search = 300; SET ivfflat.probes = 4")
            with self.conn.cursor(binary=True) as cur:
                plan = "\n".join(r[0] for r in self.conn.execute(
                    "EXPLAIN SELECT id FROM items ORDER BY embedding %s '[1,2,3,4,5,6,7,8]' LIMIT 10" % op))
                self.assertIn("items_idx", plan, index)
                cur.execute("SELECT id FROM items ORDER BY embedding %s %%b LIMIT 10" % op, (Vector(q),))
                self.assertEqual([r[0] for r in cur.fetchall()], exact(op), index)
                cur.execute("SELECT id FROM items WHERE cat = %%b ORDER BY embedding %s %%b LIMIT 10" % op,
                            (3, Vector(q)))
                self.assertEqual([r[0] for r in cur.fetchall()], exact(op, 3), index)


class Asyncpg(unittest.TestCase):
    def test_binary_codec_round_trip_and_knn(self):
        import asyncpg

        async def run():
            conn = await asyncpg.connect(database=DB)
            try:
                await conn.set_type_codec("vector", schema="public", format="binary",
                                          encoder=vector_pack, decoder=vector_unpack)
                await conn.execute("DROP TABLE IF EXISTS a_items")
                await conn.execute("CREATE TABLE a_items (id int PRIMARY KEY, embedding vector(4), cat int)")
                rng = random.Random(7)
                vs = [random_vector(rng, 4) for _ in range(100)]
                await conn.executemany("INSERT INTO a_items VALUES ($1, $2, $3)",
                                       [(i, v, i % 2) for i, v in enumerate(vs)])
                await conn.copy_records_to_table("a_items", records=[(1000 + i, v, 0) for i, v in enumerate(vs)])
                rows = await conn.fetch("SELECT id, embedding FROM a_items ORDER BY id")
                self.assertEqual([r["embedding"] for r in rows[:100]], vs)
                self.assertEqual([r["embedding"] for r in rows[100:]], vs)
                await conn.execute("CREATE INDEX ON a_items USING hnsw (embedding vector_l2_ops, cat)")
                await conn.execute("SET enable_seqscan = off")
                q = [0.25, -0.5, 0.125, 1.0]
                got = [r["id"] for r in await conn.fetch(
                    "SELECT id FROM a_items WHERE cat = 1 ORDER BY embedding <-> $1 LIMIT 5", q)]
                def d(i):
                    v = vs[i % 1000]
                    return sum((a - b) ** 2 for a, b in zip(v, q))
                want = sorted([i for i in range(100) if i % 2 == 1], key=lambda i: (d(i), i))[:5]
                self.assertEqual(got, want)
            finally:
                await conn.close()

        asyncio.run(run())


class SQLAlchemy(unittest.TestCase):
    def test_user_defined_type_model_index_and_query(self):
        import sqlalchemy as sa
        from sqlalchemy.orm import Session, declarative_base
        from sqlalchemy.types import UserDefinedType, Float

        class VectorType(UserDefinedType):
            cache_ok = True

            def __init__(self, dim=None):
                self.dim = dim

            def get_col_spec(self, **kw):
                return "VECTOR" if self.dim is None else "VECTOR(%d)" % self.dim

            def bind_processor(self, dialect):
                return lambda v: None if v is None else vector_text(v)

            def result_processor(self, dialect, coltype):
                return lambda t: None if t is None else [f32(float(x)) for x in t[1:-1].split(",")]

            class comparator_factory(UserDefinedType.Comparator):
                def l2_distance(self, other):
                    return self.op("<->", return_type=Float)(other)

                def cosine_distance(self, other):
                    return self.op("<=>", return_type=Float)(other)

        Base = declarative_base()

        class Item(Base):
            __tablename__ = "orm_items"
            id = sa.Column(sa.Integer, primary_key=True)
            category = sa.Column(sa.Integer)
            embedding = sa.Column(VectorType(3))

        host = os.environ.get("PGHOST", "/tmp")
        url = "postgresql+psycopg2://%s@/%s?host=%s&port=%s" % (
            os.environ.get("PGUSER", "postgres"), DB, host, os.environ.get("PGPORT", "5432"))
        engine = sa.create_engine(url)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        # As pgvector-python's README creates its indexes.
        sa.Index("orm_items_hnsw", Item.embedding, postgresql_using="hnsw",
                 postgresql_with={"m": 16, "ef_construction": 64},
                 postgresql_ops={"embedding": "vector_l2_ops"}).create(engine)
        sa.Index("orm_items_ivfflat", Item.embedding, postgresql_using="ivfflat",
                 postgresql_with={"lists": 2},
                 postgresql_ops={"embedding": "vector_cosine_ops"}).create(engine)
        rng = random.Random(3)
        vs = {i: random_vector(rng, 3) for i in range(1, 61)}
        with Session(engine) as s:
            s.add_all([Item(id=i, category=i % 3, embedding=v) for i, v in vs.items()])
            s.commit()
            self.assertEqual(s.get(Item, 7).embedding, vs[7])
            q = [0.5, 0.25, -0.75]
            s.execute(sa.text("SET enable_seqscan = off"))
            s.execute(sa.text("SET ivfflat.probes = 2"))
            got = [i.id for i in s.scalars(sa.select(Item).where(Item.category == 1)
                                           .order_by(Item.embedding.l2_distance(q)).limit(5))]
            want = sorted([i for i in vs if i % 3 == 1],
                          key=lambda i: (sum((a - b) ** 2 for a, b in zip(vs[i], q)), i))[:5]
            self.assertEqual(got, want)

            def cos(v):
                dot = sum(a * b for a, b in zip(v, q))
                return 1 - dot / ((sum(a * a for a in v) * sum(b * b for b in q)) ** 0.5)
            got = [i.id for i in s.scalars(sa.select(Item).order_by(Item.embedding.cosine_distance(q)).limit(5))]
            self.assertEqual(got, sorted(vs, key=lambda i: (cos(vs[i]), i))[:5])
            plan = "\n".join(r[0] for r in s.execute(sa.text(
                "EXPLAIN SELECT id FROM orm_items ORDER BY embedding <=> '[1,2,3]' LIMIT 5")))
            self.assertIn("orm_items_ivfflat", plan)
        engine.dispose()


if __name__ == "__main__":
    unittest.main()
