// Errors as a client sees them: the SQLSTATE (err.code), message and detail fields of the pg
// driver's DatabaseError for bad input sent as parameters, exactly as pgvector reports them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toSql, SparseVector } from 'pgvector';
import { createDatabase, assertServerError } from './helpers.mjs';

let db;
let client;
before(async () => {
  db = await createDatabase('errors');
  client = db.client;
  await client.query('CREATE TABLE items (id int PRIMARY KEY, embedding vector(3), half halfvec(3), sparse sparsevec(3))');
});
after(async () => {
  await db?.drop();
});

test("inserting '[1,2' fails with 22P02 invalid input syntax", async () => {
  const err = await assertServerError(
    client.query('INSERT INTO items (id, embedding) VALUES (1, $1)', ['[1,2']),
    '22P02', 'invalid input syntax for type vector: "[1,2"');
  assert.equal(err.severity, 'ERROR');
  assert.equal((await client.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 0);
});

test('dimension mismatch on a vector(3) column fails with 22000', async () => {
  await assertServerError(
    client.query('INSERT INTO items (id, embedding) VALUES (1, $1)', [toSql([1, 2])]),
    '22000', 'expected 3 dimensions, not 2');
  await assertServerError(
    client.query('INSERT INTO items (id, half) VALUES (1, $1)', [toSql([1, 2, 3, 4])]),
    '22000', 'expected 3 dimensions, not 4');
  await assertServerError(
    client.query('INSERT INTO items (id, sparse) VALUES (1, $1)', [toSql(new SparseVector([1, 2]))]),
    '22000', 'expected 3 dimensions, not 2');
  await assertServerError(
    client.query('UPDATE items SET embedding = $1', [toSql([1, 2, 3, 4])]),
    '22000', 'expected 3 dimensions, not 4');
});

test('vector input syntax errors with their details', async () => {
  const cases = [
    ['1,2', '22P02', 'invalid input syntax for type vector: "1,2"', 'Vector contents must start with "[".'],
    ['[1,2]x', '22P02', 'invalid input syntax for type vector: "[1,2]x"', 'Junk after closing right brace.'],
    ['[1,,2]', '22P02', 'invalid input syntax for type vector: "[1,,2]"', undefined],
    ['[1;2]', '22P02', 'invalid input syntax for type vector: "[1;2]"', undefined],
    ['', '22P02', 'invalid input syntax for type vector: ""', 'Vector contents must start with "[".'],
    ['[]', '22000', 'vector must have at least 1 dimension', undefined],
    ['[1,NaN]', '22000', 'NaN not allowed in vector', undefined],
    ['[1,-Infinity]', '22000', 'infinite value not allowed in vector', undefined],
    ['[1e39]', '22003', '"1e39" is out of range for type vector', undefined],
  ];
  for (const [input, code, message, detail] of cases) {
    await assertServerError(client.query('SELECT $1::vector', [input]), code, message, detail);
  }
});

test('halfvec and sparsevec input errors', async () => {
  const cases = [
    ['SELECT $1::halfvec', '[1,2', '22P02', 'invalid input syntax for type halfvec: "[1,2"', undefined],
    ['SELECT $1::halfvec', '[65520]', '22003', '"65520" is out of range for type halfvec', undefined],
    ['SELECT $1::halfvec', '[]', '22000', 'halfvec must have at least 1 dimension', undefined],
    ['SELECT $1::sparsevec', '{1:1,2:2', '22P02', 'invalid input syntax for type sparsevec: "{1:1,2:2"', undefined],
    ['SELECT $1::sparsevec', '{1:1}', '22P02', 'invalid input syntax for type sparsevec: "{1:1}"', 'Unexpected end of input.'],
    ['SELECT $1::sparsevec', '[1,2]', '22P02', 'invalid input syntax for type sparsevec: "[1,2]"', 'Vector contents must start with "{".'],
    ['SELECT $1::sparsevec', '{4:1}/3', '22000', 'sparsevec index out of bounds', undefined],
    ['SELECT $1::sparsevec', '{1:1,1:2}/3', '22000', 'sparsevec indices must not contain duplicates', undefined],
    ['SELECT $1::sparsevec', '{}/0', '22000', 'sparsevec must have at least 1 dimension', undefined],
  ];
  for (const [sql, input, code, message, detail] of cases) {
    await assertServerError(client.query(sql, [input]), code, message, detail);
  }
});

test('distance between different dimensions', async () => {
  await assertServerError(client.query('SELECT $1::vector <-> $2::vector', [toSql([1, 2, 3]), toSql([1, 2])]),
    '22000', 'different vector dimensions 3 and 2');
  await assertServerError(client.query('SELECT $1::halfvec <=> $2::halfvec', [toSql([1]), toSql([1, 2])]),
    '22000', 'different halfvec dimensions 1 and 2');
  await assertServerError(client.query('SELECT $1::sparsevec <#> $2::sparsevec',
    [toSql(new SparseVector([1, 0])), toSql(new SparseVector([1, 0, 0]))]),
  '22000', 'different sparsevec dimensions 2 and 3');
});

test('a bad value in one row of a multi-row insert aborts the statement; the client recovers', async () => {
  await assertServerError(
    client.query('INSERT INTO items (id, embedding) VALUES (1, $1), (2, $2)', [toSql([1, 2, 3]), '[1,2,x]']),
    '22P02', 'invalid input syntax for type vector: "[1,2,x]"');
  await client.query('BEGIN');
  await client.query('INSERT INTO items (id, embedding) VALUES (1, $1)', [toSql([1, 2, 3])]);
  await assertServerError(client.query('INSERT INTO items (id, embedding) VALUES (2, $1)', ['[1]']),
    '22000', 'expected 3 dimensions, not 1');
  await assertServerError(client.query('SELECT 1'), '25P02',
    'current transaction is aborted, commands ignored until end of transaction block');
  await client.query('ROLLBACK');
  const { rows } = await client.query('SELECT count(*)::int AS n FROM items');
  assert.equal(rows[0].n, 0);
});

test('typmod errors in DDL', async () => {
  await assertServerError(client.query('CREATE TABLE bad (v vector(0))'), '22023',
    'dimensions for type vector must be at least 1');
  await assertServerError(client.query('CREATE TABLE bad (v vector(16001))'), '22023',
    'dimensions for type vector cannot exceed 16000');
  await assertServerError(client.query('CREATE TABLE bad (v halfvec(1,2))'), '22023', 'invalid type modifier');
});
